// Adjoint rules of the linear algebra ops (lib/Rules/MatrixAdjointRules.cpp).
// RUN: taylor-opt %s --taylor-reverse="function=inverse" | FileCheck %s --check-prefix=INV
// RUN: taylor-opt %s --taylor-reverse="function=slogdet" | FileCheck %s --check-prefix=SLOGDET
// RUN: taylor-opt %s --taylor-reverse="function=cholesky" | FileCheck %s --check-prefix=CHOL
// RUN: taylor-opt %s --taylor-reverse="function=solve" | FileCheck %s --check-prefix=SOLVE

// Ā = -Bᵀ B̄ Bᵀ: (Bᵀ B̄) then (· Bᵀ) scaled by -1, batched over the
// leading dimension.
// INV-DAG: #[[BT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1)>
// INV-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// INV-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// INV-DAG: #[[RHS_T:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// INV-LABEL: func.func @inverse_vjp(
// INV-SAME: %[[A:.*]]: tensor<3x4x4xf64>, %[[BBAR:.*]]: tensor<3x4x4xf64>)
// INV: %[[MINUS:.*]] = arith.constant -1.0
// INV: %[[B:.*]] = taylor.matrix_inverse %[[A]]
// INV: %[[P:.*]] = linalg.generic {indexing_maps = [#[[BT]], #[[RHS]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[B]], %[[BBAR]] :
// INV: %[[ABAR:.*]] = linalg.generic {indexing_maps = [#[[LHS]], #[[RHS_T]], {{.*}}]} ins(%[[P]], %[[B]] :
// INV: arith.mulf %{{.*}}, %[[MINUS]]
// INV: return %[[B]], %[[ABAR]]
func.func @inverse(%a: tensor<3x4x4xf64>) -> tensor<3x4x4xf64> {
  %0 = taylor.matrix_inverse %a : tensor<3x4x4xf64>
  return %0 : tensor<3x4x4xf64>
}

// Ā = l̄ A^-ᵀ: each transposed inverse scaled by its batch entry of l̄ (the
// sign has no adjoint).
// SLOGDET-DAG: #[[T:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// SLOGDET-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// SLOGDET-LABEL: func.func @slogdet_vjp(
// SLOGDET-SAME: %[[A:.*]]: tensor<3x4x4xf64>, %[[LBAR:.*]]: tensor<3xf64>)
// SLOGDET: %{{.*}}, %[[L:.*]] = taylor.slogdet %[[A]]
// SLOGDET: %[[B:.*]] = taylor.matrix_inverse %[[A]]
// SLOGDET: %[[ABAR:.*]] = linalg.generic {indexing_maps = [#[[T]], #[[ROW]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[B]], %[[LBAR]] :
// SLOGDET: return %[[L]], %[[ABAR]]
func.func @slogdet(%a: tensor<3x4x4xf64>) -> tensor<3xf64> {
  %s, %l = taylor.slogdet %a : tensor<3x4x4xf64>
  return %l : tensor<3xf64>
}

// Ā = L^-ᵀ P L^-1, M = Lᵀ L̄, P = ½ (tril(M) + tril(M, -1)ᵀ).
// CHOL-LABEL: func.func @cholesky_vjp(
// CHOL-SAME: %[[A:.*]]: tensor<4x4xf64>, %[[LBAR:.*]]: tensor<4x4xf64>)
// CHOL: %[[L:.*]] = taylor.cholesky %[[A]]
// CHOL: %[[LINV:.*]] = taylor.matrix_inverse %[[L]]
// CHOL: %[[M:.*]] = linalg.generic {{.*}} ins(%[[L]], %[[LBAR]] :
// CHOL: %[[P:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[M]] :
// CHOL: arith.cmpi uge
// CHOL: %[[Q:.*]] = linalg.generic {{.*}} ins(%[[LINV]], %[[P]] :
// CHOL: %[[ABAR:.*]] = linalg.generic {{.*}} ins(%[[Q]], %[[LINV]] :
// CHOL: return %[[L]], %[[ABAR]]
func.func @cholesky(%a: tensor<4x4xf64>) -> tensor<4x4xf64> {
  %0 = taylor.cholesky %a : tensor<4x4xf64>
  return %0 : tensor<4x4xf64>
}

// b̄ = A^-ᵀ X̄, Ā = -b̄ Xᵀ; both operands differentiated.
// SOLVE-LABEL: func.func @solve_vjp(
// SOLVE-SAME: %[[A:[a-z0-9]+]]: tensor<2x4x4xf64>, %[[B:[a-z0-9]+]]: tensor<2x4x3xf64>, %[[XBAR:[a-z0-9]+]]: tensor<2x4x3xf64>)
// SOLVE-SAME: -> (tensor<2x4x3xf64>, tensor<2x4x4xf64>, tensor<2x4x3xf64>)
// SOLVE: %[[MINUS:.*]] = arith.constant -1.0
// SOLVE: %[[X:.*]] = taylor.solve %[[A]], %[[B]]
// SOLVE: %[[AI:.*]] = taylor.matrix_inverse %[[A]]
// SOLVE: %[[BBAR:.*]] = linalg.generic {{.*}} ins(%[[AI]], %[[XBAR]] :
// SOLVE: %[[ABAR:.*]] = linalg.generic {{.*}} ins(%[[BBAR]], %[[X]] :
// SOLVE: arith.mulf %{{.*}}, %[[MINUS]]
// SOLVE: return %[[X]], %[[ABAR]], %[[BBAR]]
func.func @solve(%a: tensor<2x4x4xf64>, %b: tensor<2x4x3xf64>) -> tensor<2x4x3xf64> {
  %0 = taylor.solve %a, %b : tensor<2x4x4xf64>, tensor<2x4x3xf64>
  return %0 : tensor<2x4x3xf64>
}
