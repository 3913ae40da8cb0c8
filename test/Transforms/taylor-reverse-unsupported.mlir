// Ops on the differentiated path without an adjoint: a diagnostic at the op.
// RUN: taylor-opt %s --taylor-reverse -verify-diagnostics -split-input-file

func.func @window(%x: tensor<6xf64>) -> tensor<4xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %k = tensor.empty() : tensor<3xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  // expected-error @+1 {{'linalg.generic' op has no adjoint rule: operand #0 is read through affine_map<(d0, d1) -> (d0 + d1)>, not a projection of the loops (e.g. a convolution window)}}
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0 + d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x, %k : tensor<6xf64>, tensor<3xf64>) outs(%z : tensor<4xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %q = arith.addf %o, %p : f64
    linalg.yield %q : f64
  } -> tensor<4xf64>
  return %s : tensor<4xf64>
}

// -----

func.func @scalar(%x: tensor<4xf64>) -> tensor<4xf64> {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %x[%c0] : tensor<4xf64>
  %e = tensor.empty() : tensor<4xf64>
  // expected-error @+1 {{taylor-reverse: 'linalg.fill' reads a value of type 'f64' that depends on a differentiated argument; only tensors carry adjoints}}
  %f = linalg.fill ins(%v : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  return %f : tensor<4xf64>
}

// -----

func.func @norule(%x: tensor<4xf64>) -> tensor<2x2xf64> {
  %shape = arith.constant dense<2> : tensor<2xi64>
  // expected-error @+1 {{no adjoint rule for 'tensor.reshape'}}
  %r = tensor.reshape %x(%shape) : (tensor<4xf64>, tensor<2xi64>) -> tensor<2x2xf64>
  return %r : tensor<2x2xf64>
}

// -----

func.func @capture(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{taylor-reverse: 'scf.execute_region' uses a value that depends on a differentiated argument inside a region}}
  %r = scf.execute_region -> tensor<4xf64> {
    scf.yield %x : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @max_with_active_init(%x: tensor<4x3xf64>, %init: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error @+1 {{'linalg.generic' op has no adjoint rule: result #0 is a max/min reduction whose init depends on a differentiated argument}}
  %s = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x3xf64>) outs(%init : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %q = arith.maximumf %o, %a : f64
    linalg.yield %q : f64
  } -> tensor<4xf64>
  return %s : tensor<4xf64>
}
