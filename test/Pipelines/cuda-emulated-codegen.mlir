// The cuda-emulated target: the GPU-mapped program (taylor-cuda-map) run on
// the CPU (taylor-gpu-launch-to-loops, then the CPU lowering to LLVM).
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-emulated-codegen)' > %t.emulated
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-cuda-map, taylor-gpu-launch-to-loops, canonicalize)' | FileCheck %s --check-prefix=LOOPS
// RUN: FileCheck %s < %t.emulated
// RUN: mlir-translate --mlir-to-llvmir %t.emulated | FileCheck %s --check-prefix=LLVMIR

// The launches become loops over the grid and the block; device memory and
// cuBLAS become host memory and the CPU BLAS.
// LOOPS-LABEL: func.func @weighted_top(
// LOOPS-NOT:     gpu.
// LOOPS:         memref.alloc
// LOOPS:         scf.parallel
// LOOPS:           scf.parallel
// LOOPS:         call @taylor_rt_gemm_f64(
// LOOPS:         return

// Plain LLVM dialect for the ExecutionEngine: no gpu, memref or scf op; the
// CPU GEMM; allocations through the generic allocation functions.
// CHECK-NOT:   gpu.
// CHECK-NOT:   memref.
// CHECK-NOT:   scf.
// CHECK-LABEL: llvm.func @weighted_top(
// CHECK:         llvm.call @_mlir_memref_to_llvm_alloc(
// CHECK:         llvm.call @taylor_rt_gemm_f64(
// CHECK:         llvm.call @_mlir_memref_to_llvm_free(
// CHECK-NOT:   taylor_rt_cublas

// LLVMIR-DAG: define void @_mlir_ciface_weighted_top(
// LLVMIR-DAG: call double @llvm.tanh.f64(double
// LLVMIR-DAG: call void @_mlir_ciface_taylor_rt_gemm_f64(

func.func @weighted_top(%x0: tensor<4xf64>, %x1: tensor<2x4xf64>, %w: tensor<4x3xf64>) -> tensor<3xf64>
    attributes {llvm.emit_c_interface} {
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<2x4xf64> -> !taylor.jet<1, 2, tensor<4xf64>>
  %s = taylor.sum %j static_weights [0.5, -2.0] : !taylor.jet<1, 2, tensor<4xf64>> -> !taylor.jet<1, 2, tensor<4xf64>, collapsed>
  %t = taylor.coeff %s[1] : !taylor.jet<1, 2, tensor<4xf64>, collapsed> -> tensor<4xf64>
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%t : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%in: f64, %out: f64):
    %y = math.tanh %in : f64
    linalg.yield %y : f64
  } -> tensor<4xf64>
  %r2 = tensor.expand_shape %r [[0, 1]] output_shape [1, 4] : tensor<4xf64> into tensor<1x4xf64>
  %z = arith.constant 0.0 : f64
  %o = tensor.empty() : tensor<1x3xf64>
  %f = linalg.fill ins(%z : f64) outs(%o : tensor<1x3xf64>) -> tensor<1x3xf64>
  %p = linalg.matmul ins(%r2, %w : tensor<1x4xf64>, tensor<4x3xf64>) outs(%f : tensor<1x3xf64>) -> tensor<1x3xf64>
  %p1 = tensor.collapse_shape %p [[0, 1]] : tensor<1x3xf64> into tensor<3xf64>
  return %p1 : tensor<3xf64>
}
