// RUN: taylor-opt %s --taylor-hoist-direction-invariants -split-input-file | FileCheck %s

// tanh(x0) and 1 - tanh(x0)² do not depend on the direction loop d0: they
// move to a generic over d1, computed once; the coefficient generic reads
// the derivative. The constant stays.
// CHECK-DAG: #[[ID1:.+]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[INNER:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @tanh_derivative
// CHECK-SAME: (%[[X0:[a-z0-9_]+]]: tensor<4xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x4xf64>)
// CHECK: %[[E:.+]] = tensor.empty() : tensor<4xf64>
// CHECK: %[[D:.+]] = linalg.generic {indexing_maps = [#[[ID1]], #[[ID1]]], iterator_types = ["parallel"]} ins(%[[X0]] : tensor<4xf64>) outs(%[[E]] : tensor<4xf64>)
// CHECK: math.tanh
// CHECK: arith.subf
// CHECK: linalg.yield
// CHECK: linalg.generic {indexing_maps = [#[[INNER]], #[[ID2]], #[[INNER]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X0]], %[[X1]], %[[D]] : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>)
// CHECK-NEXT: ^bb0(%{{.+}}: f64, %[[IX1:.+]]: f64, %[[ID:.+]]: f64, %{{.+}}: f64):
// CHECK-NEXT: %[[P:.+]] = arith.mulf %[[ID]], %[[IX1]] : f64
// CHECK-NEXT: linalg.yield %[[P]]
func.func @tanh_derivative(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<3x4xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x0, %x1 : tensor<4xf64>, tensor<3x4xf64>) outs(%e : tensor<3x4xf64>) {
  ^bb0(%a: f64, %v: f64, %o: f64):
    %t = math.tanh %a : f64
    %t2 = arith.mulf %t, %t : f64
    %d = arith.subf %one, %t2 : f64
    %p = arith.mulf %d, %v : f64
    linalg.yield %p : f64
  } -> tensor<3x4xf64>
  return %r : tensor<3x4xf64>
}

// -----

// Nothing costly is invariant (a product of an invariant and a varying
// value): the generic is left alone. Neither is a loop nest whose inner
// loops reduce.
// CHECK-LABEL: func.func @cheap
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
func.func @cheap(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %e = tensor.empty() : tensor<3x4xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x0, %x1 : tensor<4xf64>, tensor<3x4xf64>) outs(%e : tensor<3x4xf64>) {
  ^bb0(%a: f64, %v: f64, %o: f64):
    %p = arith.mulf %a, %v : f64
    linalg.yield %p : f64
  } -> tensor<3x4xf64>
  return %r : tensor<3x4xf64>
}
