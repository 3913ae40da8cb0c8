// RUN: taylor-opt %s --taylor-to-llvm | FileCheck %s
// The result is plain LLVM dialect that translates to LLVM IR.
// RUN: taylor-opt %s --taylor-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// LLVMIR-DAG: define void @_mlir_ciface_weighted_top(ptr %{{.*}}, ptr %{{.*}}, ptr %{{.*}})
// LLVMIR-DAG: call double @llvm.tanh.f64(double

// Everything is lowered: no taylor, linalg, tensor, memref or func ops remain.
// CHECK-NOT: taylor.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// The result becomes an out-parameter appended to the arguments, and the C
// interface wrapper is emitted.
// CHECK: llvm.func @weighted_top(
// CHECK-SAME: %{{.*}}: !llvm.ptr
// CHECK: llvm.func @_mlir_ciface_weighted_top(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
func.func @weighted_top(%x0: tensor<4xf64>, %x1: tensor<2x4xf64>) -> tensor<4xf64>
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
  return %r : tensor<4xf64>
}
