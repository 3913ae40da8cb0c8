// RUN: taylor-opt %s --taylor-reverse="function=f" --taylor-split-adjoint="function=f_vjp cotangents=1 primal-results=1" | FileCheck %s
// RUN: not taylor-opt %s --taylor-reverse="function=f" --taylor-split-adjoint="function=f_vjp cotangents=5" 2>&1 | FileCheck %s --check-prefix=COUNTS
// RUN: not taylor-opt %s --taylor-reverse="function=f" --taylor-split-adjoint="function=f_vjp cotangents=1 primal-results=2" 2>&1 | FileCheck %s --check-prefix=PRIMAL

// RUN: not taylor-opt %s --taylor-reverse="function=f" --taylor-split-adjoint="function=f_vjp primal-function=f" 2>&1 | FileCheck %s --check-prefix=CLASH
// RUN: not taylor-opt %s --taylor-split-adjoint="function=nope" 2>&1 | FileCheck %s --check-prefix=NOFUNC

// CLASH: error: taylor-split-adjoint: a symbol '@f' already exists
// NOFUNC: error: taylor-split-adjoint: no function '@nope' with a body in the module
// COUNTS: error: taylor-split-adjoint: '@f_vjp' has 4 argument(s) and 4 result(s); 'cotangents' is 5 and 'primal-results' 1
// PRIMAL: error: taylor-split-adjoint: result #1 is a primal result but depends on a cotangent

// The primal half computes the layer and returns the pre-activation (what
// the adjoint reads: the tape); the adjoint half recomputes tanh from it,
// rematerializes the zero fills and returns the gradients.
// CHECK-LABEL: func.func @f_vjp_adjoint(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x3xf64>, %[[W:[^:]*]]: tensor<3x5xf64>, %[[B:[^:]*]]: tensor<5xf64>, %[[TAPE:[^:]*]]: tensor<4x5xf64>, %[[YBAR:[^:]*]]: tensor<4x5xf64>)
// CHECK-SAME: -> (tensor<4x3xf64>, tensor<3x5xf64>, tensor<5xf64>)
// CHECK-NOT: linalg.matmul
// CHECK: linalg.fill
// CHECK: linalg.generic {{.*}} ins(%[[TAPE]], %[[B]], %[[YBAR]]
// CHECK: math.tanh
// CHECK: return
// CHECK-LABEL: func.func @f_vjp_primal(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x3xf64>, %[[W:[^:]*]]: tensor<3x5xf64>, %[[B:[^:]*]]: tensor<5xf64>)
// CHECK-SAME: -> (tensor<4x5xf64>, tensor<4x5xf64>)
// CHECK: %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[W]]
// CHECK: %[[Y:.*]] = linalg.generic
// CHECK: return %[[Y]], %[[MM]]

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
func.func @f(%x: tensor<4x3xf64>, %w: tensor<3x5xf64>, %b: tensor<5xf64>) -> tensor<4x5xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4x5xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<4x5xf64>) -> tensor<4x5xf64>
  %mm = linalg.matmul ins(%x, %w : tensor<4x3xf64>, tensor<3x5xf64>) outs(%z : tensor<4x5xf64>) -> tensor<4x5xf64>
  %y = linalg.generic {indexing_maps = [#id2, #bias, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<4x5xf64>, tensor<5xf64>) outs(%e : tensor<4x5xf64>) {
  ^bb0(%m: f64, %bb: f64, %o: f64):
    %s = arith.addf %m, %bb : f64
    %t = math.tanh %s : f64
    linalg.yield %t : f64
  } -> tensor<4x5xf64>
  return %y : tensor<4x5xf64>
}
