// RUN: taylor-opt %s --taylor-reverse="function=f" --taylor-split-adjoint="function=f_vjp cotangents=1 primal-results=1" | FileCheck %s

// A mask (tensor of i1, as PyTorch's softplus threshold gives) that the
// adjoint reads is recomputed there from its operand, not taped: the LLVM
// lowering cannot store sub-byte elements (the fused loss of a softplus
// model failed to compile, test/compile/test_fuzz_regressions.py).
// CHECK-LABEL: func.func @f_vjp_adjoint(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x5xf64>, %[[YBAR:[^:]*]]: tensor<4x5xf64>)
// CHECK-SAME: -> tensor<4x5xf64> {
// CHECK: %[[MASK:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<4x5xf64>) outs(%{{.*}} : tensor<4x5xi1>)
// CHECK: arith.cmpf ogt
// CHECK: linalg.generic {{.*}} ins(%[[MASK]], {{.*}}%[[YBAR]]
// CHECK: return
// CHECK-LABEL: func.func @f_vjp_primal(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x5xf64>)
// CHECK-SAME: -> tensor<4x5xf64> {
// CHECK: return %{{.*}} : tensor<4x5xf64>

#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @f(%x: tensor<4x5xf64>) -> tensor<4x5xf64> {
  %threshold = arith.constant 20.0 : f64
  %m = tensor.empty() : tensor<4x5xi1>
  %mask = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x5xf64>) outs(%m : tensor<4x5xi1>) {
  ^bb0(%a: f64, %o: i1):
    %c = arith.cmpf ogt, %a, %threshold : f64
    linalg.yield %c : i1
  } -> tensor<4x5xi1>
  %e = tensor.empty() : tensor<4x5xf64>
  %y = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mask, %x : tensor<4x5xi1>, tensor<4x5xf64>) outs(%e : tensor<4x5xf64>) {
  ^bb0(%k: i1, %a: f64, %o: f64):
    %ex = math.exp %a : f64
    %sp = math.log1p %ex : f64
    %s = arith.select %k, %a, %sp : f64
    linalg.yield %s : f64
  } -> tensor<4x5xf64>
  return %y : tensor<4x5xf64>
}
