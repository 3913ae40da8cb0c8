// Ops without a Taylor-mode rule are reported with their location.
// Body ops are checked when taylor-lower expands the structured op.
// RUN: taylor-opt %s --taylor-jet="order=2 directions=2" --taylor-lower -split-input-file -verify-diagnostics

func.func @softmax(%x: tensor<2x4xf64>) -> tensor<2x4xf64> {
  %e = tensor.empty() : tensor<2x4xf64>
  // expected-error @+1 {{no Taylor-mode rule for 'linalg.softmax'}}
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x4xf64>) outs(%e : tensor<2x4xf64>) -> tensor<2x4xf64>
  return %s : tensor<2x4xf64>
}

// -----

func.func @tensor_level_arith(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{no Taylor-mode rule for 'arith.mulf'}}
  %y = arith.mulf %x, %x : tensor<4xf64>
  return %y : tensor<4xf64>
}

// -----

func.func @body_op(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    // expected-error @+1 {{no Taylor-mode rule for 'arith.remf' in the body of 'linalg.generic'}}
    %y = arith.remf %a, %a : f64
    linalg.yield %y : f64
  } -> tensor<4xf64>
  return %r : tensor<4xf64>
}

// -----

func.func @loop(%x: tensor<4xf64>) -> tensor<4xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  // expected-error @+1 {{no Taylor-mode rule for 'scf.for'}}
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %x) -> tensor<4xf64> {
    scf.yield %acc : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}
