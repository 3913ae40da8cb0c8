// A small MLP layer in linalg on tensors: tanh(x W + b).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @mlp(%x: tensor<2x3xf64>) -> tensor<2x4xf64> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.5, -0.5, 1.0], [-1.0, 0.75, 1.0, -0.25]]> : tensor<3x4xf64>
  %b = arith.constant dense<[0.1, -0.2, 0.3, 0.0]> : tensor<4xf64>
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<2x4xf64>
  %init = linalg.fill ins(%zero : f64) outs(%e : tensor<2x4xf64>) -> tensor<2x4xf64>
  %mm = linalg.matmul ins(%x, %w : tensor<2x3xf64>, tensor<3x4xf64>) outs(%init : tensor<2x4xf64>) -> tensor<2x4xf64>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<2x4xf64>, tensor<4xf64>) outs(%e : tensor<2x4xf64>) {
  ^bb0(%m: f64, %bias: f64, %o: f64):
    %s = arith.addf %m, %bias : f64
    %t = math.tanh %s : f64
    linalg.yield %t : f64
  } -> tensor<2x4xf64>
  return %y : tensor<2x4xf64>
}
