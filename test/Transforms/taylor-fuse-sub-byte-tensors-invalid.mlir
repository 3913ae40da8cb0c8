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
