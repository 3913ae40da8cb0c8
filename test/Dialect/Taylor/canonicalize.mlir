// RUN: taylor-opt %s -canonicalize -split-input-file | FileCheck %s

// coeff(make_jet(c0, ..., cK))[k] folds to ck.
// CHECK-LABEL: func.func @coeff_of_make_jet
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[X2:.*]]: tensor<3x4xf64>)
// CHECK-NEXT: return %[[X0]], %[[X1]], %[[X2]]
func.func @coeff_of_make_jet(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>)
    -> (tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
      -> !taylor.jet<2, 3, tensor<4xf64>>
  %0 = taylor.coeff %j[0] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<4xf64>
  %1 = taylor.coeff %j[1] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  %2 = taylor.coeff %j[2] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
  return %0, %1, %2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
}

// -----

// Below the top, the coefficients of sum(j) are those of j, but they stay read
// through the sum: that keeps the sum the only user of j for taylor-collapse.
// CHECK-LABEL: func.func @coeff_of_sum
// CHECK-SAME: (%[[J:.*]]: !taylor.jet<2, 3, tensor<4xf64>>)
// CHECK-NEXT: %[[S:.*]] = taylor.sum %[[J]]
// CHECK-NEXT: %[[C0:.*]] = taylor.coeff %[[S]][0] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
// CHECK-NEXT: %[[C1:.*]] = taylor.coeff %[[S]][1] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<3x4xf64>
// CHECK-NEXT: %[[C2:.*]] = taylor.coeff %[[S]][2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
// CHECK-NEXT: return %[[C0]], %[[C1]], %[[C2]]
func.func @coeff_of_sum(%j: !taylor.jet<2, 3, tensor<4xf64>>)
    -> (tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>) {
  %s = taylor.sum %j : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  %0 = taylor.coeff %s[0] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
  %1 = taylor.coeff %s[1] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<3x4xf64>
  %2 = taylor.coeff %s[2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
  return %0, %1, %2 : tensor<4xf64>, tensor<3x4xf64>, tensor<4xf64>
}

// -----

// Unused jets are dead code (the ops are pure).
// CHECK-LABEL: func.func @dead_jets
// CHECK-NEXT: return
func.func @dead_jets(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) {
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
  %s = taylor.sum %j : !taylor.jet<1, 3, tensor<4xf64>> -> !taylor.jet<1, 3, tensor<4xf64>, collapsed>
  return
}
