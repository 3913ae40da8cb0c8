// RUN: taylor-opt %s | FileCheck %s
// Round trip: the printed form parses back to the same printed form.
// RUN: taylor-opt %s | taylor-opt | FileCheck %s
// Generic form round trip.
// RUN: taylor-opt %s --mlir-print-op-generic | taylor-opt | FileCheck %s

// CHECK-LABEL: func.func private @types
// CHECK-SAME: !taylor.jet<1, 1, tensor<f32>>
// CHECK-SAME: !taylor.jet<2, 50, tensor<8x50xf64>>
// CHECK-SAME: !taylor.jet<2, 50, tensor<8x50xf64>, collapsed>
// CHECK-SAME: !taylor.jet<4, 3, tensor<?x5xf32>>
// CHECK-SAME: !taylor.jet<3, 2, tensor<4xbf16>, collapsed>
func.func private @types(!taylor.jet<1, 1, tensor<f32>>,
                         !taylor.jet<2, 50, tensor<8x50xf64>>,
                         !taylor.jet<2, 50, tensor<8x50xf64>, collapsed>,
                         !taylor.jet<4, 3, tensor<?x5xf32>>,
                         !taylor.jet<3, 2, tensor<4xbf16>, collapsed>)

// CHECK-LABEL: func.func @make_jet
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>, %[[S:.*]]: tensor<4xf64>)
func.func @make_jet(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>,
                    %s: tensor<4xf64>)
    -> (!taylor.jet<2, 3, tensor<4xf64>>, !taylor.jet<2, 3, tensor<4xf64>, collapsed>) {
  // CHECK: taylor.make_jet %[[X0]], %[[X1]], %[[X2]] : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64> -> !taylor.jet<2, 3, tensor<4xf64>>
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
      -> !taylor.jet<2, 3, tensor<4xf64>>
  // CHECK: taylor.make_jet %[[X0]], %[[X1]], %[[S]] : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  %c = taylor.make_jet %x0, %x1, %s : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>
      -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  return %j, %c : !taylor.jet<2, 3, tensor<4xf64>>, !taylor.jet<2, 3, tensor<4xf64>, collapsed>
}

// CHECK-LABEL: func.func @make_jet_dynamic
func.func @make_jet_dynamic(%x0: tensor<?x5xf32>, %x1: tensor<2x?x5xf32>)
    -> !taylor.jet<1, 2, tensor<?x5xf32>> {
  // CHECK: taylor.make_jet %{{.*}}, %{{.*}} : tensor<?x5xf32>, tensor<2x?x5xf32> -> !taylor.jet<1, 2, tensor<?x5xf32>>
  %j = taylor.make_jet %x0, %x1 : tensor<?x5xf32>, tensor<2x?x5xf32>
      -> !taylor.jet<1, 2, tensor<?x5xf32>>
  return %j : !taylor.jet<1, 2, tensor<?x5xf32>>
}

// CHECK-LABEL: func.func @coeff
// CHECK-SAME: (%[[J:.*]]: !taylor.jet<2, 3, tensor<4xf64>>, %[[C:.*]]: !taylor.jet<2, 3, tensor<4xf64>, collapsed>)
func.func @coeff(%j: !taylor.jet<2, 3, tensor<4xf64>>,
                 %c: !taylor.jet<2, 3, tensor<4xf64>, collapsed>)
    -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>, tensor<3x4xf64>, tensor<4xf64>) {
  // CHECK: taylor.coeff %[[J]][0] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<4xf64>
  %0 = taylor.coeff %j[0] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<4xf64>
  // CHECK: taylor.coeff %[[J]][1] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  %1 = taylor.coeff %j[1] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  // CHECK: taylor.coeff %[[J]][2] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  %2 = taylor.coeff %j[2] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  // CHECK: taylor.coeff %[[C]][1] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<3x4xf64>
  %3 = taylor.coeff %c[1] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<3x4xf64>
  // CHECK: taylor.coeff %[[C]][2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
  %4 = taylor.coeff %c[2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
  return %0, %1, %2, %3, %4 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>, tensor<3x4xf64>, tensor<4xf64>
}

// CHECK-LABEL: func.func @sum
// CHECK-SAME: (%[[J:.*]]: !taylor.jet<2, 3, tensor<4xf32>>, %[[W:.*]]: tensor<3xf32>)
func.func @sum(%j: !taylor.jet<2, 3, tensor<4xf32>>, %w: tensor<3xf32>)
    -> (!taylor.jet<2, 3, tensor<4xf32>, collapsed>,
        !taylor.jet<2, 3, tensor<4xf32>, collapsed>,
        !taylor.jet<2, 3, tensor<4xf32>, collapsed>) {
  // CHECK: taylor.sum %[[J]] : !taylor.jet<2, 3, tensor<4xf32>> -> !taylor.jet<2, 3, tensor<4xf32>, collapsed>
  %0 = taylor.sum %j : !taylor.jet<2, 3, tensor<4xf32>> -> !taylor.jet<2, 3, tensor<4xf32>, collapsed>
  // CHECK: taylor.sum %[[J]] weights(%[[W]] : tensor<3xf32>) : !taylor.jet<2, 3, tensor<4xf32>> -> !taylor.jet<2, 3, tensor<4xf32>, collapsed>
  %1 = taylor.sum %j weights(%w : tensor<3xf32>)
      : !taylor.jet<2, 3, tensor<4xf32>> -> !taylor.jet<2, 3, tensor<4xf32>, collapsed>
  // CHECK: taylor.sum %[[J]] static_weights [5.000000e-01, -1.000000e+00, 2.000000e+00] : !taylor.jet<2, 3, tensor<4xf32>> -> !taylor.jet<2, 3, tensor<4xf32>, collapsed>
  %2 = taylor.sum %j static_weights [0.5, -1.0, 2.0]
      : !taylor.jet<2, 3, tensor<4xf32>> -> !taylor.jet<2, 3, tensor<4xf32>, collapsed>
  return %0, %1, %2 : !taylor.jet<2, 3, tensor<4xf32>, collapsed>,
      !taylor.jet<2, 3, tensor<4xf32>, collapsed>, !taylor.jet<2, 3, tensor<4xf32>, collapsed>
}

// CHECK-LABEL: func.func @propagate
// CHECK-SAME: (%[[J:.*]]: !taylor.jet<2, 3, tensor<4x5xf64>>, %[[W:.*]]: tensor<5x6xf64>, %[[I:.*]]: tensor<4x6xf64>)
func.func @propagate(%j: !taylor.jet<2, 3, tensor<4x5xf64>>, %w: tensor<5x6xf64>, %init: tensor<4x6xf64>)
    -> !taylor.jet<2, 3, tensor<4x6xf64>> {
  // CHECK: %[[R:.*]] = taylor.propagate(%[[J]], %[[W]], %[[I]]) : (!taylor.jet<2, 3, tensor<4x5xf64>>, tensor<5x6xf64>, tensor<4x6xf64>) -> !taylor.jet<2, 3, tensor<4x6xf64>> {
  // CHECK-NEXT: ^bb0(%[[PX:.*]]: tensor<4x5xf64>, %[[PW:.*]]: tensor<5x6xf64>, %[[PI:.*]]: tensor<4x6xf64>):
  // CHECK-NEXT: %[[M:.*]] = linalg.matmul ins(%[[PX]], %[[PW]] : tensor<4x5xf64>, tensor<5x6xf64>) outs(%[[PI]] : tensor<4x6xf64>) -> tensor<4x6xf64>
  // CHECK-NEXT: taylor.yield %[[M]] : tensor<4x6xf64>
  // CHECK-NEXT: }
  %r = taylor.propagate(%j, %w, %init)
      : (!taylor.jet<2, 3, tensor<4x5xf64>>, tensor<5x6xf64>, tensor<4x6xf64>) -> !taylor.jet<2, 3, tensor<4x6xf64>> {
  ^bb0(%px: tensor<4x5xf64>, %pw: tensor<5x6xf64>, %pi: tensor<4x6xf64>):
    %m = linalg.matmul ins(%px, %pw : tensor<4x5xf64>, tensor<5x6xf64>) outs(%pi : tensor<4x6xf64>) -> tensor<4x6xf64>
    taylor.yield %m : tensor<4x6xf64>
  }
  return %r : !taylor.jet<2, 3, tensor<4x6xf64>>
}

// A constant in the body, and a non-float result that is not a jet.
// CHECK-LABEL: func.func @propagate_constant_and_mask
// CHECK: taylor.propagate(%{{.*}}, %{{.*}}, %{{.*}}) : (!taylor.jet<1, 2, tensor<4xf32>>, tensor<4xf32>, tensor<4xi1>) -> (!taylor.jet<1, 2, tensor<4xf32>>, tensor<4xi1>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: taylor.yield %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xi1>
func.func @propagate_constant_and_mask(%j: !taylor.jet<1, 2, tensor<4xf32>>, %e: tensor<4xf32>, %b: tensor<4xi1>)
    -> (!taylor.jet<1, 2, tensor<4xf32>>, tensor<4xi1>) {
  %r:2 = taylor.propagate(%j, %e, %b) : (!taylor.jet<1, 2, tensor<4xf32>>, tensor<4xf32>, tensor<4xi1>) -> (!taylor.jet<1, 2, tensor<4xf32>>, tensor<4xi1>) {
  ^bb0(%x: tensor<4xf32>, %pe: tensor<4xf32>, %pb: tensor<4xi1>):
    %half = arith.constant 0.5 : f32
    %y:2 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
        ins(%x : tensor<4xf32>) outs(%pe, %pb : tensor<4xf32>, tensor<4xi1>) {
    ^bb0(%a: f32, %o: f32, %m: i1):
      %s = arith.mulf %a, %half : f32
      %c = arith.cmpf ogt, %a, %half : f32
      linalg.yield %s, %c : f32, i1
    } -> (tensor<4xf32>, tensor<4xi1>)
    taylor.yield %y#0, %y#1 : tensor<4xf32>, tensor<4xi1>
  }
  return %r#0, %r#1 : !taylor.jet<1, 2, tensor<4xf32>>, tensor<4xi1>
}

// Collapsed propagate ops carry the weights of the sum.
// CHECK-LABEL: func.func @collapsed_propagate
// CHECK-SAME: (%[[J:.*]]: !taylor.jet<2, 3, tensor<4xf64>, collapsed>, %[[W:.*]]: tensor<3xf64>, %[[E:.*]]: tensor<4xf64>)
func.func @collapsed_propagate(%j: !taylor.jet<2, 3, tensor<4xf64>, collapsed>, %w: tensor<3xf64>,
                               %e: tensor<4xf64>)
    -> (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, !taylor.jet<2, 3, tensor<4xf64>, collapsed>) {
  // CHECK: taylor.propagate(%[[J]], %[[E]]) static_weights [1.000000e+00, 2.000000e+00, 3.000000e+00] : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  %a = taylor.propagate(%j, %e) static_weights [1.0, 2.0, 3.0]
      : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  // CHECK: taylor.propagate(%[[J]], %[[E]]) weights(%[[W]] : tensor<3xf64>) : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  %b = taylor.propagate(%j, %e) weights(%w : tensor<3xf64>)
      : (!taylor.jet<2, 3, tensor<4xf64>, collapsed>, tensor<4xf64>) -> !taylor.jet<2, 3, tensor<4xf64>, collapsed> {
  ^bb0(%x: tensor<4xf64>, %o: tensor<4xf64>):
    %r = linalg.exp ins(%x : tensor<4xf64>) outs(%o : tensor<4xf64>) -> tensor<4xf64>
    taylor.yield %r : tensor<4xf64>
  }
  return %a, %b : !taylor.jet<2, 3, tensor<4xf64>, collapsed>, !taylor.jet<2, 3, tensor<4xf64>, collapsed>
}
