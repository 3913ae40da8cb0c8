// RUN: taylor-opt %s --taylor-unshare-fills -split-input-file | FileCheck %s

// A zero fill used as the init of two reductions and read by an add: each
// reduction gets its own fill (right before it), the add reads the original.
// CHECK-LABEL: func.func @shared_fill
// CHECK: %[[F:.+]] = linalg.fill
// CHECK-NEXT: %[[E1:.+]] = tensor.empty() : tensor<4xf64>
// CHECK-NEXT: %[[F1:.+]] = linalg.fill ins(%{{.+}} : f64) outs(%[[E1]] : tensor<4xf64>)
// CHECK-NEXT: %[[A:.+]] = linalg.reduce ins(%{{.+}} : tensor<4x5xf64>) outs(%[[F1]] : tensor<4xf64>)
// CHECK: %[[E2:.+]] = tensor.empty() : tensor<4xf64>
// CHECK-NEXT: %[[F2:.+]] = linalg.fill ins(%{{.+}} : f64) outs(%[[E2]] : tensor<4xf64>)
// CHECK-NEXT: %[[B:.+]] = linalg.reduce ins(%{{.+}} : tensor<4x5xf64>) outs(%[[F2]] : tensor<4xf64>)
// CHECK: linalg.add ins(%[[A]], %[[F]] : tensor<4xf64>, tensor<4xf64>) outs(%[[B]] : tensor<4xf64>)
func.func @shared_fill(%x: tensor<4x5xf64>, %y: tensor<4x5xf64>) -> tensor<4xf64> {
  %c0 = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %z = linalg.fill ins(%c0 : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %a = linalg.reduce ins(%x : tensor<4x5xf64>) outs(%z : tensor<4xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  %b = linalg.reduce ins(%y : tensor<4x5xf64>) outs(%z : tensor<4xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  %r = linalg.add ins(%a, %z : tensor<4xf64>, tensor<4xf64>) outs(%b : tensor<4xf64>) -> tensor<4xf64>
  return %r : tensor<4xf64>
}

// -----

// Without other reads too, every destination gets a fill right before it
// (the original, far up where CSE left it, is erased).
// CHECK-LABEL: func.func @two_destinations
// CHECK: %[[F:.+]] = linalg.fill
// CHECK-NEXT: linalg.reduce ins(%{{.+}} : tensor<4x5xf64>) outs(%[[F]] : tensor<4xf64>)
// CHECK: %[[F2:.+]] = linalg.fill
// CHECK-NEXT: linalg.reduce ins(%{{.+}} : tensor<4x5xf64>) outs(%[[F2]] : tensor<4xf64>)
func.func @two_destinations(%x: tensor<4x5xf64>, %y: tensor<4x5xf64>) -> (tensor<4xf64>, tensor<4xf64>) {
  %c0 = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %z = linalg.fill ins(%c0 : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %a = linalg.reduce ins(%x : tensor<4x5xf64>) outs(%z : tensor<4xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  %b = linalg.reduce ins(%y : tensor<4x5xf64>) outs(%z : tensor<4xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %s = arith.addf %in, %acc : f64
      linalg.yield %s : f64
    }
  return %a, %b : tensor<4xf64>, tensor<4xf64>
}
