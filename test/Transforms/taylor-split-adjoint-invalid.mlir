// A result kept by the primal half must not depend on a cotangent.
// RUN: taylor-opt %s --taylor-reverse="function=f" --taylor-split-adjoint="function=f_vjp cotangents=1 primal-results=2" -verify-diagnostics -o /dev/null

// expected-error @+1 {{taylor-split-adjoint: result #1 is a primal result but depends on a cotangent}}
func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %t = math.sin %a : f64
    linalg.yield %t : f64
  } -> tensor<4xf64>
  return %y : tensor<4xf64>
}
