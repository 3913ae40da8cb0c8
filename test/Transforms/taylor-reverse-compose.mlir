// The transforms compose by running one on the other's output (linalg on
// tensors in, linalg on tensors out).
//
// Reverse over Taylor: the gradient of a Laplacian-style collapsed jet
// function with respect to the weights.
// RUN: taylor-opt %s --taylor-jet="function=f jet-function=f_lap order=2 directions=3 seed=identity sum-top result-coefficients=2" --taylor-collapse --taylor-lower --canonicalize --cse --taylor-reverse="function=f_lap arguments=1" | FileCheck %s --check-prefix=GRAD
// Taylor over reverse: a Hessian-vector product, taylor-jet at order 1 on
// the vjp function.
// RUN: taylor-opt %s --taylor-reverse="function=g arguments=0" --taylor-jet="function=g_vjp jet-function=g_hvp order=1 directions=1 argument=0" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=HVP
// Reverse over reverse.
// RUN: taylor-opt %s --taylor-reverse="function=g arguments=0" --taylor-reverse="function=g_vjp vjp-function=g_vjp_vjp arguments=0 results=1" --canonicalize --cse | FileCheck %s --check-prefix=RR
// And the results still reach the LLVM dialect.
// RUN: taylor-opt %s --taylor-reverse="function=g arguments=0" --taylor-jet="function=g_vjp jet-function=g_hvp order=1 directions=1 argument=0" --taylor-to-llvm | FileCheck %s --check-prefix=LLVM

// GRAD-LABEL: func.func @f_lap_vjp(
// GRAD-SAME: -> (tensor<2x1xf64>, tensor<3x1xf64>)
// GRAD-NOT: taylor.
// GRAD: return

// HVP-LABEL: func.func @g_hvp(
// HVP-SAME: %{{.*}}: tensor<2x3xf64>, %{{.*}}: tensor<1x2x3xf64>, %{{.*}}: tensor<2xf64>)
// HVP-SAME: -> (tensor<2xf64>, tensor<1x2xf64>, tensor<2x3xf64>, tensor<1x2x3xf64>)
// HVP-NOT: taylor.
// HVP: return

// RR-LABEL: func.func @g_vjp_vjp(
// RR-SAME: %{{.*}}: tensor<2x3xf64>, %{{.*}}: tensor<2xf64>, %{{.*}}: tensor<2x3xf64>)
// RR-SAME: -> (tensor<2xf64>, tensor<2x3xf64>, tensor<2x3xf64>)

// LLVM: llvm.func @g_hvp(

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// u(x) = tanh(x W): a one-layer network of x : [B, D].
func.func @f(%x: tensor<2x3xf64>, %w: tensor<3x1xf64>) -> tensor<2x1xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<2x1xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<2x1xf64>) -> tensor<2x1xf64>
  %mm = linalg.matmul ins(%x, %w : tensor<2x3xf64>, tensor<3x1xf64>) outs(%z : tensor<2x1xf64>) -> tensor<2x1xf64>
  %y = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<2x1xf64>) outs(%e : tensor<2x1xf64>) {
  ^bb0(%m: f64, %o: f64):
    %t = math.tanh %m : f64
    linalg.yield %t : f64
  } -> tensor<2x1xf64>
  return %y : tensor<2x1xf64>
}

// g(x) = Σ_j sin(x_ij)² per row.
func.func @g(%x: tensor<2x3xf64>) -> tensor<2xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<2xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e : tensor<2xf64>) -> tensor<2xf64>
  %s = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x3xf64>) outs(%z : tensor<2xf64>) {
  ^bb0(%a: f64, %o: f64):
    %sin = math.sin %a : f64
    %sq = arith.mulf %sin, %sin : f64
    %r = arith.addf %o, %sq : f64
    linalg.yield %r : f64
  } -> tensor<2xf64>
  return %s : tensor<2xf64>
}
