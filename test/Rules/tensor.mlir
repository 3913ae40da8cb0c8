// Shape-manipulating tensor ops are linear: the same op on every coefficient,
// with the direction dimension in front. K = 1, directions = 2.
// RUN: taylor-opt %s --taylor-jet="function=reshape order=1 directions=2" --taylor-lower --cse | FileCheck %s --check-prefix=RESHAPE
// RUN: taylor-opt %s --taylor-jet="function=slices order=1 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SLICES
// RUN: taylor-opt %s --taylor-jet="function=concat_pad order=1 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=CONCAT

// RESHAPE-LABEL: func.func @reshape_jet(
// RESHAPE-SAME: %[[X0:[a-z0-9_]+]]: tensor<4x6xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4x6xf64>)
// RESHAPE: %[[E1:[a-z0-9_]+]] = tensor.expand_shape %[[X1]] {{\[}}[0], [1], [2, 3]] output_shape [2, 4, 2, 3] : tensor<2x4x6xf64> into tensor<2x4x2x3xf64>
// RESHAPE: %[[C1:[a-z0-9_]+]] = tensor.collapse_shape %[[E1]] {{\[}}[0], [1, 2, 3]] : tensor<2x4x2x3xf64> into tensor<2x24xf64>
// RESHAPE: return %{{.*}}, %[[C1]]

// The destination of insert_slice is passive: its coefficient is zero and is
// materialized because the inserted slice's is not.
// SLICES-LABEL: func.func @slices_jet(
// SLICES-SAME: %[[X0:[a-z0-9_]+]]: tensor<4x6xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4x6xf64>, %[[D:[a-z0-9_]+]]: tensor<4x8xf64>)
// SLICES: %[[S1:[a-z0-9_]+]] = tensor.extract_slice %[[X1]][0, 0, 1] [2, 4, 3] [1, 1, 2] : tensor<2x4x6xf64> to tensor<2x4x3xf64>
// SLICES: %[[Z:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<2x4x8xf64>)
// SLICES: %[[I1:[a-z0-9_]+]] = tensor.insert_slice %[[S1]] into %[[Z]][0, 0, 2] [2, 4, 3] [1, 1, 1] : tensor<2x4x3xf64> into tensor<2x4x8xf64>
// SLICES: return %{{.*}}, %[[I1]]

// CONCAT-LABEL: func.func @concat_pad_jet(
// CONCAT-SAME: %[[X0:[a-z0-9_]+]]: tensor<4x2xf64>, %[[X1:[a-z0-9_]+]]: tensor<2x4x2xf64>, %[[Y:[a-z0-9_]+]]: tensor<4x3xf64>)
// CONCAT-DAG: %[[ZERO:[a-z0-9_]+]] = arith.constant 0.000000e+00 : f64
// CONCAT: %[[YZ:[a-z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f64) outs(%{{.*}} : tensor<2x4x3xf64>)
// CONCAT: %[[C1:[a-z0-9_]+]] = tensor.concat dim(2) %[[X1]], %[[YZ]] : (tensor<2x4x2xf64>, tensor<2x4x3xf64>) -> tensor<2x4x5xf64>
// CONCAT: %[[P1:[a-z0-9_]+]] = tensor.pad %[[C1]] low[0, 0, 1] high[0, 0, 2]
// CONCAT: tensor.yield %[[ZERO]] : f64
// CONCAT: return %{{.*}}, %[[P1]]

func.func @reshape(%x: tensor<4x6xf64>) -> tensor<24xf64> {
  %e = tensor.expand_shape %x [[0], [1, 2]] output_shape [4, 2, 3] : tensor<4x6xf64> into tensor<4x2x3xf64>
  %c = tensor.collapse_shape %e [[0, 1, 2]] : tensor<4x2x3xf64> into tensor<24xf64>
  return %c : tensor<24xf64>
}
func.func @slices(%x: tensor<4x6xf64>, %d: tensor<4x8xf64>) -> tensor<4x8xf64> {
  %s = tensor.extract_slice %x[0, 1] [4, 3] [1, 2] : tensor<4x6xf64> to tensor<4x3xf64>
  %i = tensor.insert_slice %s into %d[0, 2] [4, 3] [1, 1] : tensor<4x3xf64> into tensor<4x8xf64>
  return %i : tensor<4x8xf64>
}
func.func @concat_pad(%x: tensor<4x2xf64>, %y: tensor<4x3xf64>) -> tensor<4x8xf64> {
  %c = tensor.concat dim(1) %x, %y : (tensor<4x2xf64>, tensor<4x3xf64>) -> tensor<4x5xf64>
  %zero = arith.constant 0.0 : f64
  %p = tensor.pad %c low[0, 1] high[0, 2] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f64
  } : tensor<4x5xf64> to tensor<4x8xf64>
  return %p : tensor<4x8xf64>
}
