// Calls that taylor-jet cannot push jets through: a diagnostic naming the
// call, and no jet function.
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

func.func private @two_blocks(%x: tensor<4xf64>) -> tensor<4xf64> {
  cf.br ^bb1(%x : tensor<4xf64>)
^bb1(%y: tensor<4xf64>):
  return %y : tensor<4xf64>
}

func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{taylor-jet: cannot push jets through the call of '@two_blocks': functions with more than one block are not supported}}
  %y = func.call @two_blocks(%x) : (tensor<4xf64>) -> tensor<4xf64>
  return %y : tensor<4xf64>
}

