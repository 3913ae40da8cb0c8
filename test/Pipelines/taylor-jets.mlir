// `taylor-jets` runs one `taylor-jet` per entry of `jet-functions`; a
// per-term option with one entry applies to every term. It is exactly the
// sequence of passes it names:
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jets{function=f jet-functions=lap,grad orders=2,1 directions=3 seeds=identity,input input-coefficients=[1] result-coefficients=[0,2],[1] sum-top=true,false runtime-weights=true,false symbol-dce=true})' > %t.jets
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jet{function=f jet-function=lap order=2 directions=3 seed=identity input-coefficients=1 result-coefficients=0,2 sum-top=true runtime-weights=true}, taylor-jet{function=f jet-function=grad order=1 directions=3 seed=input input-coefficients=1 result-coefficients=1}, symbol-dce)' > %t.passes
// RUN: diff %t.jets %t.passes
// RUN: FileCheck %s < %t.jets
// The flag form runs the same pipeline.
// RUN: taylor-opt %s --taylor-jets='function=f jet-functions=lap,grad orders=2,1 directions=3 seeds=identity,input input-coefficients=[1] result-coefficients=[0,2],[1] sum-top=true,false runtime-weights=true,false symbol-dce=true' | diff - %t.jets
// Without symbol-dce the private source function stays.
// RUN: taylor-opt %s --pass-pipeline='builtin.module(taylor-jets{function=f jet-functions=g})' | FileCheck %s --check-prefix=KEEP

// The order-1 term takes x_1 per datum and returns its first coefficient.
// CHECK-LABEL: func.func @grad(
// CHECK-SAME:    %{{.*}}: tensor<4x3xf64>, %{{.*}}: tensor<3x4x3xf64>) -> tensor<3x4xf64>
// The identity-seeded order-2 term takes only the runtime weights and returns
// the value and the summed top coefficient.
// CHECK-LABEL: func.func @lap(
// CHECK-SAME:    %{{.*}}: tensor<4x3xf64>, %{{.*}}: tensor<3xf64>) -> (tensor<4xf64>, tensor<4xf64>)
// The private function they came from is gone.
// CHECK-NOT: func.func private @f

// KEEP: func.func private @f(
// KEEP: func.func @g(
func.func private @f(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4x3xf64>
  %t = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x3xf64>) outs(%e : tensor<4x3xf64>) {
  ^bb0(%a: f64, %o: f64):
    %y = math.tanh %a : f64
    linalg.yield %y : f64
  } -> tensor<4x3xf64>
  %z = arith.constant 0.0 : f64
  %i = tensor.empty() : tensor<4xf64>
  %f = linalg.fill ins(%z : f64) outs(%i : tensor<4xf64>) -> tensor<4xf64>
  %s = linalg.reduce ins(%t : tensor<4x3xf64>) outs(%f : tensor<4xf64>) dimensions = [1]
    (%a: f64, %b: f64) {
      %c = arith.addf %a, %b : f64
      linalg.yield %c : f64
    }
  return %s : tensor<4xf64>
}
