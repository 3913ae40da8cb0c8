// RUN: taylor-opt %s --pass-pipeline="builtin.module(func.func(taylor-fuse-sub-byte-tensors))" -split-input-file -verify-diagnostics

// A mask returned by the function has no user to fuse into.

#id = affine_map<(d0) -> (d0)>
func.func @returned_mask(%x: tensor<4xf64>) -> tensor<4xi1> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<4xi1>
  // expected-error @+1 {{'linalg.generic' op produces a tensor of sub-byte elements ('tensor<4xi1>') that could not be fused into its users nor stored as bytes}}
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<4xf64>) outs(%e : tensor<4xi1>) {
  ^bb0(%a: f64, %o: i1):
    %c = arith.cmpf olt, %a, %zero : f64
    linalg.yield %c : i1
  } -> tensor<4xi1>
  return %m : tensor<4xi1>
}

// -----

// A mask passed in is laid out by the caller, with one byte per element or
// not: it cannot be widened here.

// expected-error @+1 {{'func.func' op argument 1 is a tensor of sub-byte elements ('tensor<i1>'), which the LLVM lowering cannot load; pass it as i8}}
func.func @mask_argument(%x: tensor<4xf64>, %c: tensor<i1>) -> tensor<4xf64> {
  %p = tensor.extract %c[] : tensor<i1>
  %r = scf.if %p -> tensor<4xf64> {
    scf.yield %x : tensor<4xf64>
  } else {
    %e = tensor.empty() : tensor<4xf64>
    %a = linalg.add ins(%x, %x : tensor<4xf64>, tensor<4xf64>) outs(%e : tensor<4xf64>) -> tensor<4xf64>
    scf.yield %a : tensor<4xf64>
  }
  return %r : tensor<4xf64>
}
