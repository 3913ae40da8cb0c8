// The codegen pipeline of the cpu target; taylor-to-llvm is its old name, the
// same pipeline with the same options.
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cpu-codegen)' > %t.cpu
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-to-llvm)' | diff - %t.cpu
// RUN: FileCheck %s < %t.cpu
// RUN: taylor-opt %s --taylor-cpu-codegen='blas=false' > %t.loops
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-to-llvm{blas=false})' | diff - %t.loops
// RUN: FileCheck %s --check-prefix=LOOPS < %t.loops

// CHECK-LABEL: llvm.func @forward(
// CHECK:         llvm.call @taylor_rt_gemm_f64(
// LOOPS-NOT: taylor_rt_gemm
// LOOPS-LABEL: llvm.func @forward(
// LOOPS:         llvm.fmul
func.func @forward(%x: tensor<8x5xf64>, %w: tensor<5x16xf64>) -> tensor<8x16xf64> {
  %z = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<8x16xf64>
  %f = linalg.fill ins(%z : f64) outs(%e : tensor<8x16xf64>) -> tensor<8x16xf64>
  %y = linalg.matmul ins(%x, %w : tensor<8x5xf64>, tensor<5x16xf64>) outs(%f : tensor<8x16xf64>) -> tensor<8x16xf64>
  return %y : tensor<8x16xf64>
}
