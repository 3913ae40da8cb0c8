// A 2-jet of a [4]-tensor along 3 directions, and the weighted sum over
// directions of its top coefficient: the quantity collapsed Taylor mode
// propagates (for the Laplacian, the weights are all ones).
func.func @weighted_top(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %x2: tensor<3x4xf64>)
    -> tensor<4xf64> {
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
      -> !taylor.jet<2, 3, tensor<4xf64>>
  %s = taylor.sum %j static_weights [1.0, 0.5, 0.25]
      : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
  %top = taylor.coeff %s[2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
  return %top : tensor<4xf64>
}
