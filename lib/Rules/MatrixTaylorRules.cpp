//===- MatrixTaylorRules.cpp - Taylor-mode rules of matrix ops ------------===//
//
// Taylor-mode rules of the linear algebra ops of the taylor dialect, from
// the matrix-series recurrences (coefficients are derivatives, as
// everywhere: x(t) = Σ_k x_k t^k / k!, so products follow Leibniz' rule):
//
// - inverse, from A B = I:  B_k = -B_0 Σ_{j=1..k} C(k, j) A_j B_{k-j};
// - solve, from A X = b:  X_k = B_0 (b_k - Σ_{j=1..k} C(k, j) A_j X_{k-j});
// - log |det A|, from d/dt log |det A| = tr(A^-1 A'):
//       l_k = Σ_{j=0..k-1} C(k-1, j) tr(B_j A_{k-j}),
//   computed through the series of (A_0^-1 A(t))^-1, which needs fewer
//   matrix products (SlogdetModel);
// - Cholesky, from A = L Lᵀ:  with C_k = A_k - Σ_{j=1..k-1} C(k, j) L_j
// L_{k-j}ᵀ,
//       L_0 L_kᵀ + L_k L_0ᵀ = C_k,  so  L_k = L_0 Φ(L_0^-1 C_k L_0^-ᵀ)
//   (Φ: lower triangle, diagonal halved).
//
// In each, the top coefficient enters linearly (through B_0 A_K B_0,
// tr(B_0 A_K), L_0 Φ(L_0^-1 A_K L_0^-ᵀ)), so the default collapsed
// propagation by parts applies. The primal inverse and factorizations stay
// `taylor` ops, expanded into loops by `taylor-lower-matrix-ops`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/JetArithmetic.h"
#include "Taylor/Rules/MatrixArithmetic.h"
#include "Taylor/Rules/Rules.h"

using namespace mlir;
using namespace mlir::taylor;

/// The number of batch dimensions of the matrix batch `value`.
static unsigned batchRankOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getRank() - 2;
}

/// Coefficients `B_0 .. B_last` of `B(t) = A(t)^-1` from those of `A` and
/// `B_0` (null entries are zero).
static CoefficientList inverseCoefficients(MatrixBuilder &mb, ArrayRef<Value> a,
                                           Value inverse, unsigned last) {
  CoefficientList bk(last + 1, Value());
  bk[0] = inverse;
  for (unsigned k = 1; k <= last; ++k) {
    Value sum;
    for (unsigned j = 1; j <= k; ++j)
      sum = mb.matmul(a[j], bk[k - j], false, false, binomial(k, j), sum);
    bk[k] = mb.matmul(inverse, sum, false, false, -1.0);
  }
  return bk;
}

namespace {

struct MatrixInverseModel
    : public TaylorRuleOpInterface::ExternalModel<MatrixInverseModel,
                                                  MatrixInverseOp> {
  LogicalResult propagateJets(Operation *op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    Value inverse = results[0][0];
    MatrixBuilder mb(builder, op->getLoc(), batchRankOf(inverse));
    CoefficientList bk =
        inverseCoefficients(mb, operands[0], inverse, context.order);
    for (unsigned k = 1; k <= context.order; ++k)
      results[0][k] = bk[k];
    return success();
  }
};

struct SlogdetModel
    : public TaylorRuleOpInterface::ExternalModel<SlogdetModel, SlogdetOp> {
  /// With G(t) = A_0^-1 A(t) (G_0 = I, G_j = C_j = A_0^-1 A_j) and
  /// H(t) = G(t)^-1, log |det A| = log |det A_0| + log det G, so
  ///   l_k = tr(A_0^-1 A_k) - Σ_{j=1..k-1} C(k-1, j) tr(N_j C_{k-j}),
  ///   N_j = -H_j = C_j - Σ_{i=1..j-1} C(j, i) C_i N_{j-i}.
  /// The first trace is a contraction (no product), and only C_1 .. C_{K-1}
  /// and N_2 .. N_{K-1} are products: one per direction for K = 2
  /// (l_2 = tr(A_0^-1 A_2) - tr(C_1 C_1)) where `B_1 = -B_0 A_1 B_0` takes
  /// two. The top coefficient A_K enters through tr(A_0^-1 A_K) only.
  LogicalResult propagateJets(Operation *op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    // The sign is piecewise constant: its coefficients stay zero.
    ArrayRef<Value> a = operands[0];
    if (isPassive(a))
      return success();
    Location loc = op->getLoc();
    MatrixBuilder mb(builder, loc, batchRankOf(a[0]));
    Value inverse = MatrixInverseOp::create(builder, loc, a[0]);
    unsigned order = context.order;
    CoefficientList c(order, Value()), n(order, Value());
    for (unsigned j = 1; j < order; ++j) {
      c[j] = mb.matmul(inverse, a[j]);
      Value nj = c[j];
      for (unsigned i = 1; i < j; ++i)
        nj = mb.matmul(c[i], n[j - i], false, false, -binomial(j, i), nj);
      n[j] = nj;
    }
    for (unsigned k = 1; k <= order; ++k) {
      Value lk = mb.traceOfProduct(inverse, a[k]);
      for (unsigned j = 1; j < k; ++j)
        lk = mb.traceOfProduct(n[j], c[k - j], -binomial(k - 1, j), lk);
      results[1][k] = lk;
    }
    return success();
  }
};

struct SolveModel
    : public TaylorRuleOpInterface::ExternalModel<SolveModel, SolveOp> {
  /// From A X = b: X_k = B_0 (b_k - Σ_{j=1..k} C(k, j) A_j X_{k-j}).
  LogicalResult propagateJets(Operation *op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    ArrayRef<Value> a = operands[0], b = operands[1];
    if (isPassive(a) && isPassive(b))
      return success();
    Location loc = op->getLoc();
    MatrixBuilder mb(builder, loc, batchRankOf(a[0]));
    Value inverse = MatrixInverseOp::create(builder, loc, a[0]);
    CoefficientList &x = results[0];
    for (unsigned k = 1; k <= context.order; ++k) {
      Value residual = b[k];
      for (unsigned j = 1; j <= k; ++j)
        residual =
            mb.matmul(a[j], x[k - j], false, false, -binomial(k, j), residual);
      x[k] = mb.matmul(inverse, residual);
    }
    return success();
  }
};

struct CholeskyModel
    : public TaylorRuleOpInterface::ExternalModel<CholeskyModel, CholeskyOp> {
  LogicalResult propagateJets(Operation *op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    ArrayRef<Value> a = operands[0];
    if (isPassive(a))
      return success();
    Location loc = op->getLoc();
    CoefficientList &l = results[0];
    MatrixBuilder mb(builder, loc, batchRankOf(a[0]));
    Value factorInverse = MatrixInverseOp::create(builder, loc, l[0]);
    for (unsigned k = 1; k <= context.order; ++k) {
      // C_k = A_k - Σ_{j=1..k-1} C(k, j) L_j L_{k-j}ᵀ.
      Value c = a[k];
      for (unsigned j = 1; j < k; ++j)
        c = mb.matmul(l[j], l[k - j], false, true, -binomial(k, j), c);
      if (!c)
        continue;
      // L_k = L_0 Φ(L_0^-1 C_k L_0^-ᵀ).
      Value s =
          mb.matmul(mb.matmul(factorInverse, c), factorInverse, false, true);
      l[k] = mb.matmul(l[0], mb.lowerWithHalfDiagonal(s));
    }
    return success();
  }
};

} // namespace

void mlir::taylor::registerMatrixTaylorRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, TaylorDialect *) {
    MatrixInverseOp::attachInterface<MatrixInverseModel>(*ctx);
    SlogdetOp::attachInterface<SlogdetModel>(*ctx);
    SolveOp::attachInterface<SolveModel>(*ctx);
    CholeskyOp::attachInterface<CholeskyModel>(*ctx);
  });
}
