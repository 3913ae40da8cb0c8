// RUN: taylor-opt %s | taylor-opt | FileCheck %s
// RUN: taylor-opt %s --mlir-print-op-generic | taylor-opt | FileCheck %s

// The linear algebra ops round-trip in custom and generic form; batch
// dimensions and dynamic sizes are allowed.

// CHECK-LABEL: func.func @ops(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<8x4x4xf64>, %[[D:[a-z0-9]+]]: tensor<?x?xf32>, %[[M:[a-z0-9]+]]: tensor<2x3x5x5xf64>,
func.func @ops(%a: tensor<8x4x4xf64>, %d: tensor<?x?xf32>, %m: tensor<2x3x5x5xf64>,
               %rhs: tensor<8x4x2xf64>, %dm: tensor<?x?x?xf64>, %dr: tensor<?x?x1xf64>)
    -> (tensor<8x4x4xf64>, tensor<8xf64>, tensor<8xf64>, tensor<?x?xf32>, tensor<2x3xf64>,
        tensor<8x4x2xf64>) {
  // CHECK-NEXT: %[[INV:.*]] = taylor.matrix_inverse %[[A]] : tensor<8x4x4xf64>
  %inv = taylor.matrix_inverse %a : tensor<8x4x4xf64>
  // CHECK-NEXT: %[[SIGN:.*]], %[[LOGABS:.*]] = taylor.slogdet %[[A]] : tensor<8x4x4xf64>
  %sign, %logabsdet = taylor.slogdet %a : tensor<8x4x4xf64>
  // CHECK-NEXT: %[[L:.*]] = taylor.cholesky %[[D]] : tensor<?x?xf32>
  %l = taylor.cholesky %d : tensor<?x?xf32>
  // CHECK-NEXT: %{{.*}}, %[[LOG2:.*]] = taylor.slogdet %[[M]] : tensor<2x3x5x5xf64>
  %s2, %l2 = taylor.slogdet %m : tensor<2x3x5x5xf64>
  // CHECK-NEXT: %[[X:.*]] = taylor.solve %[[A]], %[[RHS:.*]] : tensor<8x4x4xf64>, tensor<8x4x2xf64>
  %x = taylor.solve %a, %rhs : tensor<8x4x4xf64>, tensor<8x4x2xf64>
  // CHECK-NEXT: taylor.solve %{{.*}}, %{{.*}} : tensor<?x?x?xf64>, tensor<?x?x1xf64>
  %y = taylor.solve %dm, %dr : tensor<?x?x?xf64>, tensor<?x?x1xf64>
  // CHECK-NEXT: return %[[INV]], %[[SIGN]], %[[LOGABS]], %[[L]], %[[LOG2]], %[[X]]
  return %inv, %sign, %logabsdet, %l, %l2, %x
      : tensor<8x4x4xf64>, tensor<8xf64>, tensor<8xf64>, tensor<?x?xf32>, tensor<2x3xf64>,
        tensor<8x4x2xf64>
}
