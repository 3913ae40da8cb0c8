// RUN: taylor-opt %s --taylor-lower --split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-lower --split-input-file --mlir-pass-statistics 2>&1 | FileCheck %s --check-prefix=STATS

// STATS: TaylorLower
// STATS: (S) 1 num-sums-lowered

// Coefficients of a function-local jet are forwarded; the jet disappears.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>)
// CHECK-NEXT: return %[[X1]], %[[X0]]
func.func @forward(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>) -> (tensor<3x4xf64>, tensor<4xf64>) {
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
  %1 = taylor.coeff %j[1] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<3x4xf64>
  %0 = taylor.coeff %j[0] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<4xf64>
  return %1, %0 : tensor<3x4xf64>, tensor<4xf64>
}

// -----

// An unweighted sum reduces the leading direction dimension of the top
// coefficient into zeros; the lower coefficients are untouched.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[DROP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @sum_unweighted
// CHECK-SAME: (%[[X0:.*]]: tensor<2x4xf32>, %[[X1:.*]]: tensor<3x2x4xf32>, %[[X2:.*]]: tensor<3x2x4xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[EMPTY:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<2x4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[DROP]]], iterator_types = ["reduction", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X2]] : tensor<3x2x4xf32>) outs(%[[INIT]] : tensor<2x4xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[ADD:.*]] = arith.addf %[[ACC]], %[[IN]] : f32
// CHECK-NEXT: linalg.yield %[[ADD]] : f32
// CHECK: return %[[X0]], %[[X1]], %[[SUM]]
func.func @sum_unweighted(%x0: tensor<2x4xf32>, %x1: tensor<3x2x4xf32>, %x2: tensor<3x2x4xf32>)
    -> (tensor<2x4xf32>, tensor<3x2x4xf32>, tensor<2x4xf32>) {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<2x4xf32>, tensor<3x2x4xf32>, tensor<3x2x4xf32>
      -> !taylor.jet<2, 3, tensor<2x4xf32>>
  %s = taylor.sum %j : !taylor.jet<2, 3, tensor<2x4xf32>> -> !taylor.jet<2, 3, tensor<2x4xf32>, collapsed>
  %0 = taylor.coeff %s[0] : !taylor.jet<2, 3, tensor<2x4xf32>, collapsed> -> tensor<2x4xf32>
  %1 = taylor.coeff %s[1] : !taylor.jet<2, 3, tensor<2x4xf32>, collapsed> -> tensor<3x2x4xf32>
  %2 = taylor.coeff %s[2] : !taylor.jet<2, 3, tensor<2x4xf32>, collapsed> -> tensor<2x4xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<3x2x4xf32>, tensor<2x4xf32>
}

// -----

// Static weights become a constant tensor indexed by the direction.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[DIR:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[DROP:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @sum_static_weights
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<2x4xf64>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<[5.000000e-01, -2.000000e+00]> : tensor<2xf64>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[DIR]], #[[DROP]]], iterator_types = ["reduction", "parallel"]}
// CHECK-SAME: ins(%[[X1]], %[[W]] : tensor<2x4xf64>, tensor<2xf64>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f64, %[[WR:.*]]: f64, %[[ACC:.*]]: f64):
// CHECK-NEXT: %[[MUL:.*]] = arith.mulf %[[IN]], %[[WR]] : f64
// CHECK-NEXT: %[[ADD:.*]] = arith.addf %[[ACC]], %[[MUL]] : f64
// CHECK-NEXT: linalg.yield %[[ADD]] : f64
func.func @sum_static_weights(%x0: tensor<4xf64>, %x1: tensor<2x4xf64>) -> tensor<4xf64> {
  %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<2x4xf64> -> !taylor.jet<1, 2, tensor<4xf64>>
  %s = taylor.sum %j static_weights [0.5, -2.0] : !taylor.jet<1, 2, tensor<4xf64>> -> !taylor.jet<1, 2, tensor<4xf64>, collapsed>
  %t = taylor.coeff %s[1] : !taylor.jet<1, 2, tensor<4xf64>, collapsed> -> tensor<4xf64>
  return %t : tensor<4xf64>
}

// -----

// Runtime weights are an operand of the reduction; dynamic sizes are taken
// from the top coefficient.
// CHECK-LABEL: func.func @sum_runtime_weights_dynamic
// CHECK-SAME: (%[[X0:.*]]: tensor<?x5xf32>, %[[X1:.*]]: tensor<3x?x5xf32>, %[[W:.*]]: tensor<3xf32>)
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[DIM:.*]] = tensor.dim %[[X1]], %[[C1]] : tensor<3x?x5xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[DIM]]) : tensor<?x5xf32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[X1]], %[[W]] : tensor<3x?x5xf32>, tensor<3xf32>)
func.func @sum_runtime_weights_dynamic(%x0: tensor<?x5xf32>, %x1: tensor<3x?x5xf32>, %w: tensor<3xf32>) -> tensor<?x5xf32> {
  %j = taylor.make_jet %x0, %x1 : tensor<?x5xf32>, tensor<3x?x5xf32> -> !taylor.jet<1, 3, tensor<?x5xf32>>
  %s = taylor.sum %j weights(%w : tensor<3xf32>) : !taylor.jet<1, 3, tensor<?x5xf32>> -> !taylor.jet<1, 3, tensor<?x5xf32>, collapsed>
  %t = taylor.coeff %s[1] : !taylor.jet<1, 3, tensor<?x5xf32>, collapsed> -> tensor<?x5xf32>
  return %t : tensor<?x5xf32>
}

// -----

// Jets inside regions of other ops are lowered too.
// CHECK-LABEL: func.func @jet_in_region
// CHECK-SAME: (%[[X0:.*]]: tensor<4xf64>, %[[X1:.*]]: tensor<3x4xf64>, %[[C:.*]]: i1)
// CHECK: scf.if %[[C]]
// CHECK-NEXT: scf.yield %[[X0]]
// CHECK-NOT: taylor.
func.func @jet_in_region(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %c: i1) -> tensor<4xf64> {
  %r = scf.if %c -> tensor<4xf64> {
    %j = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64> -> !taylor.jet<1, 3, tensor<4xf64>>
    %0 = taylor.coeff %j[0] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<4xf64>
    scf.yield %0 : tensor<4xf64>
  } else {
    scf.yield %x0 : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}
