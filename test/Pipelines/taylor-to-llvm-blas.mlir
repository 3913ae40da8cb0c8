// Matrix products call the runtime's GEMM by default; `blas=false` keeps
// generated loops.
// RUN: taylor-opt %s --taylor-to-llvm | FileCheck %s
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-to-llvm{blas=false})' | FileCheck %s --check-prefix=LOOPS

// The callee takes memref descriptors by pointer (`_mlir_ciface_`, the
// runtime implements it); the wrapper that builds them is generated.
// CHECK-DAG: llvm.func @_mlir_ciface_taylor_rt_gemm_f64(!llvm.ptr, !llvm.ptr, !llvm.ptr, f64)
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
