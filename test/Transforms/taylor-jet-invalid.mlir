// Bad options and unsupported input: a diagnostic and a failing pass.
// RUN: taylor-opt %s --taylor-jet="function=f order=0" -verify-diagnostics -split-input-file
// RUN: not taylor-opt %s --taylor-jet="function=f directions=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=DIRS
// RUN: not taylor-opt %s --taylor-jet="function=f argument=3" -split-input-file 2>&1 | FileCheck %s --check-prefix=ARG
// RUN: not taylor-opt %s --taylor-jet="function=g" -split-input-file 2>&1 | FileCheck %s --check-prefix=INT
// RUN: not taylor-opt %s --taylor-jet="function=f order=2 input-coefficients=3" -split-input-file 2>&1 | FileCheck %s --check-prefix=COEFF
// RUN: not taylor-opt %s --taylor-jet="function=f order=2 input-coefficients=1,1" -split-input-file 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not taylor-opt %s --taylor-jet="function=nope" -split-input-file 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not taylor-opt %s --taylor-jet -split-input-file 2>&1 | FileCheck %s --check-prefix=MANY
// RUN: not taylor-opt %s --taylor-jet="function=f jet-function=g" -split-input-file 2>&1 | FileCheck %s --check-prefix=CLASH

// DIRS: 'directions' must be at least 1, got 0
// ARG: error: taylor-jet: 'argument' is 3 but '@f' has 1 argument(s)
// INT: error: taylor-jet: argument #0 must be a ranked tensor of floats, got 'tensor<4xi32>'
// COEFF: error: taylor-jet: 'input-coefficients' must lie in 1 .. 2, got 3
// TWICE: error: taylor-jet: 'input-coefficients' lists 1 twice
// NOFUNC: error: taylor-jet: no function '@nope' with a body in the module
// MANY: error: taylor-jet: the module has 3 functions with a body; name one with 'function=<name>'
// CLASH: error: taylor-jet: a symbol '@g' already exists; choose another 'jet-function'

// expected-error @+1 {{taylor-jet: 'order' must be at least 1, got 0}}
func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  return %x : tensor<4xf64>
}

func.func @g(%x: tensor<4xi32>) -> tensor<4xi32> {
  return %x : tensor<4xi32>
}
// RUN: not taylor-opt %s --taylor-jet="function=f weights=1,2" -split-input-file 2>&1 | FileCheck %s --check-prefix=NOSUM
// RUN: not taylor-opt %s --taylor-jet="function=f directions=3 sum-top weights=1,2" -split-input-file 2>&1 | FileCheck %s --check-prefix=NWEIGHTS
// RUN: not taylor-opt %s --taylor-jet="function=f directions=2 sum-top weights=1,2 runtime-weights" -split-input-file 2>&1 | FileCheck %s --check-prefix=BOTH
// NOSUM: error: taylor-jet: 'weights' and 'runtime-weights' need 'sum-top'
// NWEIGHTS: error: taylor-jet: 'weights' has 2 values but 'directions' is 3
// BOTH: error: taylor-jet: give either 'weights' or 'runtime-weights', not both
// RUN: not taylor-opt %s --taylor-jet="function=f seed=rows" -split-input-file 2>&1 | FileCheck %s --check-prefix=SEED
// RUN: not taylor-opt %s --taylor-jet="function=f directions=3 seed=identity" -split-input-file 2>&1 | FileCheck %s --check-prefix=IDSHAPE
// RUN: not taylor-opt %s --taylor-jet="function=f directions=4 seed=identity" -split-input-file 2>&1 | FileCheck %s --check-prefix=IDSHAPE1
// RUN: not taylor-opt %s --taylor-jet="function=h directions=3 seed=identity input-coefficients=2" -split-input-file 2>&1 | FileCheck %s --check-prefix=IDCOEFF
// RUN: not taylor-opt %s --taylor-jet="function=f order=2 result-coefficients=3" -split-input-file 2>&1 | FileCheck %s --check-prefix=RESULT
// RUN: not taylor-opt %s --taylor-jet="function=f order=2 result-coefficients=0,0" -split-input-file 2>&1 | FileCheck %s --check-prefix=RTWICE
// SEED: error: taylor-jet: 'seed' must be 'input', 'broadcast' or 'identity', got 'rows'
// IDSHAPE: error: taylor-jet: identity seeds need an input tensor<B x D> with static D = 'directions' (3), got 'tensor<4xf64>'
// IDSHAPE1: error: taylor-jet: identity seeds need an input tensor<B x D> with static D = 'directions' (4), got 'tensor<4xf64>'
// IDCOEFF: error: taylor-jet: identity seeds give x_1 only; 'input-coefficients' must be 1
// RESULT: error: taylor-jet: 'result-coefficients' must lie in 0 .. 2, got 3
// RTWICE: error: taylor-jet: 'result-coefficients' lists 0 twice

func.func @h(%x: tensor<?x3xf64>) -> tensor<?x3xf64> {
  return %x : tensor<?x3xf64>
}
