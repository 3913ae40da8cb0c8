// Bad options and IR without adjoints: a diagnostic and a failing pass.
// RUN: taylor-opt %s --taylor-reverse="function=prodred" -verify-diagnostics -split-input-file
// RUN: not taylor-opt %s --taylor-reverse="function=nope" 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not taylor-opt %s --taylor-reverse 2>&1 | FileCheck %s --check-prefix=MANY
// RUN: not taylor-opt %s --taylor-reverse="function=prodred arguments=2" 2>&1 | FileCheck %s --check-prefix=ARG
// RUN: not taylor-opt %s --taylor-reverse="function=ints" 2>&1 | FileCheck %s --check-prefix=NOARG
// RUN: not taylor-opt %s --taylor-reverse="function=mixed arguments=1" 2>&1 | FileCheck %s --check-prefix=INTARG
// RUN: not taylor-opt %s --taylor-reverse="function=mixed arguments=0,0" 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not taylor-opt %s --taylor-reverse="function=mixed results=3" 2>&1 | FileCheck %s --check-prefix=RES
// RUN: not taylor-opt %s --taylor-reverse="function=prodred vjp-function=ints" 2>&1 | FileCheck %s --check-prefix=CLASH
// RUN: not taylor-opt %s --taylor-reverse="function=window" 2>&1 | FileCheck %s --check-prefix=WINDOW
// RUN: not taylor-opt %s --taylor-reverse="function=scalar" 2>&1 | FileCheck %s --check-prefix=SCALAR
// RUN: not taylor-opt %s --taylor-reverse="function=norule" 2>&1 | FileCheck %s --check-prefix=NORULE
// RUN: not taylor-opt %s --taylor-reverse="function=capture" 2>&1 | FileCheck %s --check-prefix=CAPTURE

// NOFUNC: error: taylor-reverse: no function '@nope' with a body in the module
// MANY: error: taylor-reverse: the module has 7 functions with a body; name one with 'function=<name>'
// ARG: error: taylor-reverse: 'arguments' lists 2 but '@prodred' has 1 arguments
// NOARG: error: taylor-reverse: '@ints' has no floating-point tensor argument to differentiate
// INTARG: error: taylor-reverse: arguments #1 must be a ranked tensor of floats, got 'tensor<4xi64>'
// TWICE: error: taylor-reverse: 'arguments' lists 0 twice
// RES: error: taylor-reverse: 'results' lists 3 but '@mixed' has 1 results
// CLASH: error: taylor-reverse: a symbol '@ints' already exists; choose another 'vjp-function'
// WINDOW: error: 'linalg.generic' op has no adjoint rule: operand #0 is read through affine_map<(d0, d1) -> (d0 + d1)>, not a projection of the loops (e.g. a convolution window)
// SCALAR: error: taylor-reverse: 'linalg.fill' reads a value of type 'f64' that depends on a differentiated argument; only tensors carry adjoints
// NORULE: error: no adjoint rule for 'tensor.reshape'
// CAPTURE: error: taylor-reverse: 'scf.execute_region' uses a value that depends on a differentiated argument inside a region

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A product reduction: its accumulator is neither a sum nor a max/min.
func.func @prodred(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %one = arith.constant 1.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %z = linalg.fill ins(%one : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  // expected-error @+1 {{'linalg.generic' op has no adjoint rule: result #0 is a reduction whose accumulator is neither a sum ('out + t') nor a max/min (or a value selected by one)}}
  %s = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x3xf64>) outs(%z : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %q = arith.mulf %o, %a : f64
    linalg.yield %q : f64
  } -> tensor<4xf64>
  return %s : tensor<4xf64>
}

func.func @ints(%x: tensor<4xi64>) -> tensor<4xi64> {
  return %x : tensor<4xi64>
}

func.func @mixed(%x: tensor<4xf64>, %i: tensor<4xi64>) -> tensor<4xf64> {
  return %x : tensor<4xf64>
}

// A sliding window (a convolution's input map).
func.func @window(%x: tensor<6xf64>) -> tensor<4xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xf64>
  %k = tensor.empty() : tensor<3xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0 + d1)>, affine_map<(d0, d1) -> (d1)>, #row],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x, %k : tensor<6xf64>, tensor<3xf64>) outs(%z : tensor<4xf64>) {
  ^bb0(%a: f64, %b: f64, %o: f64):
    %p = arith.mulf %a, %b : f64
    %q = arith.addf %o, %p : f64
    linalg.yield %q : f64
  } -> tensor<4xf64>
  return %s : tensor<4xf64>
}

// A scalar extracted from a differentiated tensor.
func.func @scalar(%x: tensor<4xf64>) -> tensor<4xf64> {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %x[%c0] : tensor<4xf64>
  %e = tensor.empty() : tensor<4xf64>
  %f = linalg.fill ins(%v : f64) outs(%e : tensor<4xf64>) -> tensor<4xf64>
  return %f : tensor<4xf64>
}

// An op without an adjoint rule.
func.func @norule(%x: tensor<4xf64>) -> tensor<2x2xf64> {
  %shape = arith.constant dense<2> : tensor<2xi64>
  %r = tensor.reshape %x(%shape) : (tensor<4xf64>, tensor<2xi64>) -> tensor<2x2xf64>
  return %r : tensor<2x2xf64>
}

// A region reading a differentiated value directly.
func.func @capture(%x: tensor<4xf64>) -> tensor<4xf64> {
  %r = scf.execute_region -> tensor<4xf64> {
    scf.yield %x : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}
