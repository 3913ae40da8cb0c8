// Taylor rules of the linear algebra ops, from the matrix-series
// recurrences (lib/Rules/MatrixTaylorRules.cpp). Directions lead, batch
// dimensions follow; every product, trace and triangular part is one
// linalg.generic.
// RUN: taylor-opt %s --taylor-jet="function=inverse order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=INV
// RUN: taylor-opt %s --taylor-jet="function=inverse order=2 directions=2 input-coefficients=1 sum-top" --taylor-collapse --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=COLLAPSED
// RUN: taylor-opt %s --taylor-jet="function=slogdet order=2 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SLOGDET
// RUN: taylor-opt %s --taylor-jet="function=cholesky order=1 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=CHOL
// RUN: taylor-opt %s --taylor-jet="function=solve order=2 directions=2 argument=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SOLVE_RHS
// RUN: taylor-opt %s --taylor-jet="function=solve order=1 directions=2 input-coefficients=1" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=SOLVE_MATRIX
// RUN: taylor-opt %s --taylor-jet="function=cholesky order=2 directions=2" --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=CHOL2
// RUN: taylor-opt %s --taylor-jet="function=cholesky order=2 directions=2 input-coefficients=1 sum-top" --taylor-collapse --taylor-lower --canonicalize --cse | FileCheck %s --check-prefix=CHOLC

func.func @inverse(%a: tensor<3x4x4xf64>) -> tensor<3x4x4xf64> {
  %i = taylor.matrix_inverse %a : tensor<3x4x4xf64>
  return %i : tensor<3x4x4xf64>
}

// B_1 = -B_0 A_1 B_0, B_2 = -B_0 (2 A_1 B_1) (A_2 = 0): four products, the
// inverse itself computed once.
// INV-DAG: #[[DIR_LEFT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// INV-DAG: #[[RIGHT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// INV-DAG: #[[LEFT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2, d4)>
// INV-DAG: #[[DIR_RIGHT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
// INV-LABEL: func.func @inverse_jet(
// INV-SAME: %[[A0:.*]]: tensor<3x4x4xf64>, %[[A1:.*]]: tensor<2x3x4x4xf64>)
// INV-DAG: %[[TWO:.*]] = arith.constant 2.0
// INV-DAG: %[[MINUS:.*]] = arith.constant -1.0
// INV: %[[B0:.*]] = taylor.matrix_inverse %[[A0]] : tensor<3x4x4xf64>
// INV-NOT: taylor.matrix_inverse
// INV: %[[A1B0:.*]] = linalg.generic {indexing_maps = [#[[DIR_LEFT]], #[[RIGHT]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[A1]], %[[B0]] :
// INV: %[[B1:.*]] = linalg.generic {indexing_maps = [#[[LEFT]], #[[DIR_RIGHT]], {{.*}}]} ins(%[[B0]], %[[A1B0]] :
// INV: arith.mulf {{.*}}, %[[MINUS]]
// INV: %[[A1B1:.*]] = linalg.generic {{.*}} ins(%[[A1]], %[[B1]] :
// INV: arith.mulf {{.*}}, %[[TWO]]
// INV: %[[B2:.*]] = linalg.generic {{.*}} ins(%[[B0]], %[[A1B1]] :
// INV: arith.mulf {{.*}}, %[[MINUS]]
// INV: return %[[B0]], %[[B1]], %[[B2]] : tensor<3x4x4xf64>, tensor<2x3x4x4xf64>, tensor<2x3x4x4xf64>

// Collapsed: B_2 = -B_0 P_2 is linear in P_2 = 2 A_1 B_1 (+ A_2 B_0), so
// P_2 is summed over the directions first and multiplied by B_0 once,
// without a direction dimension.
// COLLAPSED-LABEL: func.func @inverse_jet(
// COLLAPSED: %[[B0:.*]] = taylor.matrix_inverse
// COLLAPSED: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel", "parallel"]} ins(%{{.*}} : tensor<2x3x4x4xf64>) outs(%{{.*}} : tensor<3x4x4xf64>)
// COLLAPSED: %[[TOP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[B0]], %[[P]] : tensor<3x4x4xf64>, tensor<3x4x4xf64>)
// COLLAPSED: return %[[B0]], %{{.*}}, %[[TOP]] : tensor<3x4x4xf64>, tensor<2x3x4x4xf64>, tensor<3x4x4xf64>

func.func @slogdet(%a: tensor<3x4x4xf64>) -> tensor<3xf64> {
  %s, %l = taylor.slogdet %a : tensor<3x4x4xf64>
  return %l : tensor<3xf64>
}

// l_1 = tr(B_0 A_1), l_2 = tr(B_0 A_2) - tr(C_1 C_1) with C_1 = B_0 A_1:
// one matrix product per direction; traces of products reduce both matrix
// dimensions without forming the product.
// SLOGDET-DAG: #[[TR_B:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// SLOGDET-DAG: #[[TR_A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
// SLOGDET-DAG: #[[TR_OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// SLOGDET-LABEL: func.func @slogdet_jet(
// SLOGDET-SAME: %[[A0:.*]]: tensor<3x4x4xf64>, %[[A1:.*]]: tensor<2x3x4x4xf64>)
// SLOGDET: %[[MINUS:.*]] = arith.constant -1.0
// SLOGDET: %{{.*}}, %[[L0:.*]] = taylor.slogdet %[[A0]]
// SLOGDET: %[[B0:.*]] = taylor.matrix_inverse %[[A0]]
// SLOGDET: %[[C1:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[B0]], %[[A1]] : tensor<3x4x4xf64>, tensor<2x3x4x4xf64>)
// SLOGDET-NOT: iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// SLOGDET: %[[L1:.*]] = linalg.generic {indexing_maps = [#[[TR_B]], #[[TR_A]], #[[TR_OUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[B0]], %[[A1]] :
// SLOGDET: %[[L2:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[C1]], %[[C1]] :
// SLOGDET: arith.mulf %{{.*}}, %[[MINUS]]
// SLOGDET: return %[[L0]], %[[L1]], %[[L2]] : tensor<3xf64>, tensor<2x3xf64>, tensor<2x3xf64>

func.func @cholesky(%a: tensor<4x4xf64>) -> tensor<4x4xf64> {
  %l = taylor.cholesky %a : tensor<4x4xf64>
  return %l : tensor<4x4xf64>
}

// L_1 = L_0 Φ(L_0^-1 A_1 L_0^-ᵀ): Φ keeps the strict lower triangle and
// halves the diagonal.
// CHOL-LABEL: func.func @cholesky_jet(
// CHOL-SAME: %[[A0:.*]]: tensor<4x4xf64>, %[[A1:.*]]: tensor<2x4x4xf64>)
// CHOL-DAG: %[[HALF:.*]] = arith.constant 5.0{{.*}}e-01
// CHOL: %[[L0:.*]] = taylor.cholesky %[[A0]]
// CHOL: %[[LINV:.*]] = taylor.matrix_inverse %[[L0]]
// CHOL: %[[LA:.*]] = linalg.generic {{.*}} ins(%[[LINV]], %[[A1]] :
// CHOL: %[[S:.*]] = linalg.generic {{.*}} ins(%[[LA]], %[[LINV]] :
// CHOL: %[[PHI:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[S]] :
// CHOL: %[[ROW:.*]] = linalg.index 1
// CHOL: %[[COL:.*]] = linalg.index 2
// CHOL: %[[BELOW:.*]] = arith.cmpi ugt, %[[ROW]], %[[COL]]
// CHOL: %[[DIAG:.*]] = arith.cmpi eq, %[[ROW]], %[[COL]]
// CHOL: arith.mulf %{{.*}}, %[[HALF]]
// CHOL: %[[L1:.*]] = linalg.generic {{.*}} ins(%[[L0]], %[[PHI]] :
// CHOL: return %[[L0]], %[[L1]]

// Order 2: C_2 = A_2 - 2 L_1 L_1ᵀ accumulates into A_2.
// CHOL2-LABEL: func.func @cholesky_jet(
// CHOL2-SAME: %[[A0:.*]]: tensor<4x4xf64>, %[[A1:.*]]: tensor<2x4x4xf64>, %[[A2:.*]]: tensor<2x4x4xf64>)
// CHOL2-DAG: %[[MINUS2:.*]] = arith.constant -2.0
// CHOL2: %[[C2:.*]] = linalg.generic {{.*}} outs(%[[A2]] : tensor<2x4x4xf64>)
// CHOL2: arith.mulf {{.*}}, %[[MINUS2]]

// Collapsed: C_2 = -2 L_1 L_1ᵀ summed over the directions, then the three
// products of L_0 Φ(L_0^-1 C L_0^-ᵀ) once, on 4 x 4 matrices.
// CHOLC-LABEL: func.func @cholesky_jet(
// CHOLC: %[[L0:.*]] = taylor.cholesky
// CHOLC: %[[C:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]} ins(%{{.*}} : tensor<2x4x4xf64>) outs(%{{.*}} : tensor<4x4xf64>)
// CHOLC: linalg.generic {{.*}} ins(%{{.*}}, %[[C]] : tensor<4x4xf64>, tensor<4x4xf64>)
// CHOLC: %[[TOP:.*]] = linalg.generic {{.*}} ins(%[[L0]], %{{.*}} : tensor<4x4xf64>, tensor<4x4xf64>)
// CHOLC: return %[[L0]], %{{.*}}, %[[TOP]] : tensor<4x4xf64>, tensor<2x4x4xf64>, tensor<4x4xf64>

func.func @solve(%a: tensor<3x4x4xf64>, %b: tensor<3x4x2xf64>) -> tensor<3x4x2xf64> {
  %x = taylor.solve %a, %b : tensor<3x4x4xf64>, tensor<3x4x2xf64>
  return %x : tensor<3x4x2xf64>
}

// Active right-hand side, passive matrix: linear, X_k = B_0 b_k, products
// with 2 columns (not 4).
// SOLVE_RHS-LABEL: func.func @solve_jet(
// SOLVE_RHS-SAME: %[[A:[a-z0-9]+]]: tensor<3x4x4xf64>, %[[B0:[a-z0-9]+]]: tensor<3x4x2xf64>, %[[B1:[a-z0-9]+]]: tensor<2x3x4x2xf64>, %[[B2:[a-z0-9]+]]: tensor<2x3x4x2xf64>)
// SOLVE_RHS: %[[X0:.*]] = taylor.solve %[[A]], %[[B0]]
// SOLVE_RHS: %[[AINV:.*]] = taylor.matrix_inverse %[[A]]
// SOLVE_RHS: %[[X1:.*]] = linalg.generic {{.*}} ins(%[[AINV]], %[[B1]] : tensor<3x4x4xf64>, tensor<2x3x4x2xf64>)
// SOLVE_RHS: %[[X2:.*]] = linalg.generic {{.*}} ins(%[[AINV]], %[[B2]] : tensor<3x4x4xf64>, tensor<2x3x4x2xf64>)
// SOLVE_RHS: return %[[X0]], %[[X1]], %[[X2]]

// Active matrix: X_1 = B_0 (-A_1 X_0).
// SOLVE_MATRIX-LABEL: func.func @solve_jet(
// SOLVE_MATRIX-SAME: %[[A0:[a-z0-9]+]]: tensor<3x4x4xf64>, %[[A1:[a-z0-9]+]]: tensor<2x3x4x4xf64>, %[[B:[a-z0-9]+]]: tensor<3x4x2xf64>)
// SOLVE_MATRIX: %[[MINUS:.*]] = arith.constant -1.0
// SOLVE_MATRIX: %[[X0:.*]] = taylor.solve %[[A0]], %[[B]]
// SOLVE_MATRIX: %[[AINV:.*]] = taylor.matrix_inverse %[[A0]]
// SOLVE_MATRIX: %[[R:.*]] = linalg.generic {{.*}} ins(%[[A1]], %[[X0]] : tensor<2x3x4x4xf64>, tensor<3x4x2xf64>)
// SOLVE_MATRIX: arith.mulf %{{.*}}, %[[MINUS]]
// SOLVE_MATRIX: %[[X1:.*]] = linalg.generic {{.*}} ins(%[[AINV]], %[[R]] :
// SOLVE_MATRIX: return %[[X0]], %[[X1]]
