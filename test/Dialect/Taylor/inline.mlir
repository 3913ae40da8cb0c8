// RUN: taylor-opt %s --inline --symbol-dce | FileCheck %s

// Functions that use taylor ops can be inlined (taylor_mlir.func composes
// vjp and jet functions by calls and inlines them).

// CHECK-LABEL: func.func @caller(
// CHECK-SAME: %[[A:.*]]: tensor<2x3x3xf64>)
// CHECK-NOT: call
// CHECK: %[[INV:.*]] = taylor.matrix_inverse %[[A]]
// CHECK: %{{.*}}, %[[L:.*]] = taylor.slogdet %[[INV]]
// CHECK: return %[[L]]
func.func @caller(%a: tensor<2x3x3xf64>) -> tensor<2xf64> {
  %0 = func.call @callee(%a) : (tensor<2x3x3xf64>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}

func.func private @callee(%a: tensor<2x3x3xf64>) -> tensor<2xf64> {
  %inv = taylor.matrix_inverse %a : tensor<2x3x3xf64>
  %s, %l = taylor.slogdet %inv : tensor<2x3x3xf64>
  return %l : tensor<2xf64>
}
