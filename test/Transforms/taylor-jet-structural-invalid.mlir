// Calls that taylor-jet cannot push jets through: a diagnostic naming the
// call (or the op of the callee), and no jet function.
// RUN: taylor-opt %s --taylor-jet="function=f order=2 directions=2" -split-input-file -verify-diagnostics

func.func private @recursive(%x: tensor<4xf64>, %n: index) -> tensor<4xf64> {
  // expected-error @+1 {{taylor-jet: '@recursive' calls itself; recursive functions are not supported}}
  %y = func.call @recursive(%x, %n) : (tensor<4xf64>, index) -> tensor<4xf64>
  return %y : tensor<4xf64>
}

func.func @f(%x: tensor<4xf64>, %n: index) -> tensor<4xf64> {
  %y = func.call @recursive(%x, %n) : (tensor<4xf64>, index) -> tensor<4xf64>
  return %y : tensor<4xf64>
}

// -----

func.func private @softmax(%x: tensor<2x4xf64>) -> tensor<2x4xf64> {
  %e = tensor.empty() : tensor<2x4xf64>
  // expected-error @+1 {{no Taylor-mode rule for 'linalg.softmax'}}
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf64>) outs(%e : tensor<2x4xf64>) -> tensor<2x4xf64>
  return %s : tensor<2x4xf64>
}

// An op without a rule in a callee is reported where it is.
func.func @f(%x: tensor<2x4xf64>) -> tensor<2x4xf64> {
  %y = func.call @softmax(%x) : (tensor<2x4xf64>) -> tensor<2x4xf64>
  return %y : tensor<2x4xf64>
}
