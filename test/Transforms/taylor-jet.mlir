// RUN: taylor-opt %s --taylor-jet="function=mlp order=2 directions=3" --split-input-file | FileCheck %s
// RUN: taylor-opt %s --taylor-jet="function=mlp order=3 directions=4 input-coefficients=1 jet-function=lap" --split-input-file | FileCheck %s --check-prefix=SEEDS
// RUN: taylor-opt %s --taylor-jet="function=mlp order=2 directions=3" --split-input-file --mlir-pass-statistics 2>&1 | FileCheck %s --check-prefix=STATS

// STATS: TaylorJet
// STATS: (S) 2 num-propagated

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// The original function is kept; @mlp_jet takes x_0, x_1, x_2 (per
// direction), then the passive weights, and returns f_0, f_1, f_2.
// CHECK-LABEL: func.func @mlp(%{{.*}}: tensor<2x3xf64>, %{{.*}}: tensor<3x4xf64>) -> tensor<2x4xf64>
// CHECK: linalg.matmul
// CHECK-LABEL: func.func @mlp_jet(
// CHECK-SAME: %[[X0:[a-z0-9_]+]]: tensor<2x3xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x2x3xf64>, %[[X2:[a-z0-9_]+]]: tensor<3x2x3xf64>, %[[W:[a-z0-9_]+]]: tensor<3x4xf64>)
// CHECK-SAME: -> (tensor<2x4xf64>, tensor<3x2x4xf64>, tensor<3x2x4xf64>)
// CHECK: %[[J:[a-z0-9_]+]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]] : {{.*}} -> !taylor.jet<2, 3, tensor<2x3xf64>>
// Passive ops (the init) stay as they are.
// CHECK: %[[INIT:[a-z0-9_]+]] = linalg.fill
// The matmul is wrapped: jet operand, passive weight and init.
// CHECK: %[[MM:[a-z0-9_]+]] = taylor.propagate(%[[J]], %[[W]], %[[INIT]]) : (!taylor.jet<2, 3, tensor<2x3xf64>>, tensor<3x4xf64>, tensor<2x4xf64>) -> !taylor.jet<2, 3, tensor<2x4xf64>> {
// CHECK-NEXT: ^bb0(%[[PX:[a-z0-9_]+]]: tensor<2x3xf64>, %[[PW:[a-z0-9_]+]]: tensor<3x4xf64>, %[[PI:[a-z0-9_]+]]: tensor<2x4xf64>):
// CHECK-NEXT: %[[R:[a-z0-9_]+]] = linalg.matmul ins(%[[PX]], %[[PW]] : tensor<2x3xf64>, tensor<3x4xf64>) outs(%[[PI]] : tensor<2x4xf64>)
// CHECK-NEXT: taylor.yield %[[R]] : tensor<2x4xf64>
// The constant the body captures is cloned into the region.
// CHECK: %[[T:[a-z0-9_]+]] = taylor.propagate(%[[MM]], %{{.*}}) : (!taylor.jet<2, 3, tensor<2x4xf64>>, tensor<2x4xf64>) -> !taylor.jet<2, 3, tensor<2x4xf64>> {
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: %[[C:[a-z0-9_]+]] = arith.constant 2.000000e+00 : f64
// CHECK-NEXT: linalg.generic
// CHECK: arith.mulf %{{.*}}, %[[C]] : f64
// CHECK: %[[F0:[a-z0-9_]+]] = taylor.coeff %[[T]][0]
// CHECK: %[[F1:[a-z0-9_]+]] = taylor.coeff %[[T]][1]
// CHECK: %[[F2:[a-z0-9_]+]] = taylor.coeff %[[T]][2]
// CHECK: return %[[F0]], %[[F1]], %[[F2]]

// Only x_1 is an argument: x_2 and x_3 are zero fills, folded away later.
// SEEDS-LABEL: func.func @lap(
// SEEDS-SAME: %[[X0:[a-z0-9_]+]]: tensor<2x3xf64>, %[[X1:[a-z0-9_]+]]: tensor<4x2x3xf64>, %[[W:[a-z0-9_]+]]: tensor<3x4xf64>)
// SEEDS-SAME: -> (tensor<2x4xf64>, tensor<4x2x4xf64>, tensor<4x2x4xf64>, tensor<4x2x4xf64>)
// SEEDS: %[[Z:[a-z0-9_]+]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<4x2x3xf64>)
// SEEDS: taylor.make_jet %[[X0]], %[[X1]], %[[Z]], %[[Z]] :
func.func @mlp(%x: tensor<2x3xf64>, %w: tensor<3x4xf64>) -> tensor<2x4xf64> {
  %zero = arith.constant 0.0 : f64
  %two = arith.constant 2.0 : f64
  %e = tensor.empty() : tensor<2x4xf64>
  %init = linalg.fill ins(%zero : f64) outs(%e : tensor<2x4xf64>) -> tensor<2x4xf64>
  %mm = linalg.matmul ins(%x, %w : tensor<2x3xf64>, tensor<3x4xf64>) outs(%init : tensor<2x4xf64>) -> tensor<2x4xf64>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<2x4xf64>) outs(%e : tensor<2x4xf64>) {
  ^bb0(%a: f64, %o: f64):
    %y = math.tanh %a : f64
    %s = arith.mulf %y, %two : f64
    linalg.yield %s : f64
  } -> tensor<2x4xf64>
  return %t : tensor<2x4xf64>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// Results: a passive result gets zero higher coefficients; a result that is
// not a floating-point tensor is returned as it is; an op that only needs
// the primal (tensor.dim) reads coefficient 0.
// CHECK-LABEL: func.func @mlp_jet(
// CHECK-SAME: %[[X0:[a-z0-9_]+]]: tensor<?x3xf64>, %[[X1:[a-z0-9_]+]]: tensor<3x?x3xf64>, %[[X2:[a-z0-9_]+]]: tensor<3x?x3xf64>, %[[B:[a-z0-9_]+]]: tensor<3xf64>)
// CHECK-SAME: -> (tensor<?x3xf64>, tensor<3x?x3xf64>, tensor<3x?x3xf64>, index, tensor<3xf64>, tensor<3x3xf64>, tensor<3x3xf64>)
// CHECK: %[[J:[a-z0-9_]+]] = taylor.make_jet %[[X0]], %[[X1]], %[[X2]]
// CHECK: %[[P:[a-z0-9_]+]] = taylor.coeff %[[J]][0]
// CHECK: %[[DIM:[a-z0-9_]+]] = tensor.dim %[[P]], %{{.*}} : tensor<?x3xf64>
// CHECK: %[[ZB:[a-z0-9_]+]] = linalg.fill {{.*}} -> tensor<3x3xf64>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[DIM]], %[[B]], %[[ZB]], %{{.*}} :
func.func @mlp(%x: tensor<?x3xf64>, %b: tensor<3xf64>) -> (tensor<?x3xf64>, index, tensor<3xf64>) {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x3xf64>
  %e = tensor.empty(%d) : tensor<?x3xf64>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<?x3xf64>, tensor<3xf64>) outs(%e : tensor<?x3xf64>) {
  ^bb0(%a: f64, %bias: f64, %o: f64):
    %s = arith.addf %a, %bias : f64
    linalg.yield %s : f64
  } -> tensor<?x3xf64>
  return %r, %d, %b : tensor<?x3xf64>, index, tensor<3xf64>
}

