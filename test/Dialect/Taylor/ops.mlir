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
