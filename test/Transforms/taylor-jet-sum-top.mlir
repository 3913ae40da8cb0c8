// sum-top: the top coefficient comes back summed over the directions, with
// unit, compile-time or runtime weights; taylor-lower reduces it.
// RUN: taylor-opt %s --taylor-jet="function=layer order=2 directions=3 input-coefficients=1 sum-top" | FileCheck %s --check-prefix=SUM
// RUN: taylor-opt %s --taylor-jet="function=layer order=2 directions=3 input-coefficients=1 sum-top weights=1,2,3" | FileCheck %s --check-prefix=STATIC
// RUN: taylor-opt %s --taylor-jet="function=layer order=2 directions=3 input-coefficients=1 sum-top runtime-weights" | FileCheck %s --check-prefix=RUNTIME
// RUN: taylor-opt %s --taylor-jet="function=layer order=2 directions=3 input-coefficients=1 sum-top" --taylor-lower | FileCheck %s --check-prefix=LOWERED

// SUM-LABEL: func.func @layer_jet(
// SUM-SAME: -> (tensor<2x4xf64>, tensor<3x2x4xf64>, tensor<2x4xf64>)
// SUM: %[[T:[a-z0-9_]+]] = taylor.propagate
// SUM: %[[S:[a-z0-9_]+]] = taylor.sum %[[T]] : !taylor.jet<2, 3, tensor<2x4xf64>> -> !taylor.jet<2, 3, tensor<2x4xf64>, collapsed>
// SUM: %[[TOP:[a-z0-9_]+]] = taylor.coeff %[[S]][2]
// SUM: return %{{.*}}, %{{.*}}, %[[TOP]]
// STATIC: taylor.sum %{{.*}} static_weights [1.000000e+00, 2.000000e+00, 3.000000e+00]
// RUNTIME-LABEL: func.func @layer_jet(
// RUNTIME-SAME: %{{[a-z0-9_]+}}: tensor<2x4xf64>, %{{[a-z0-9_]+}}: tensor<3x2x4xf64>, %[[W:[a-z0-9_]+]]: tensor<3xf64>)
// RUNTIME: taylor.sum %{{.*}} weights(%[[W]] : tensor<3xf64>)
// LOWERED-LABEL: func.func @layer_jet(
// LOWERED-NOT: taylor.
// LOWERED: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]
func.func @layer(%x: tensor<2x4xf64>) -> tensor<2x4xf64> {
  %e = tensor.empty() : tensor<2x4xf64>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x4xf64>) outs(%e : tensor<2x4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %y = math.tanh %a : f64
    linalg.yield %y : f64
  } -> tensor<2x4xf64>
  return %t : tensor<2x4xf64>
}
