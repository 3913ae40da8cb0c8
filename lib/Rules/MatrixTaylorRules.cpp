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
// B_0 (b_K - A_K X_0), tr(B_0 A_K), L_0 Φ(L_0^-1 A_K L_0^-ᵀ)), and each is
// a final linear map applied to a sum of products. The collapsed rules of
// the inverse, solve and Cholesky sum the per-direction products over the
// directions first and apply the final map once; slogdet's top coefficient
// is a batch scalar, and the default propagation by parts serves it. The
// primal inverse and factorizations stay `taylor` ops, expanded into loops
// by `taylor-lower-matrix-ops`.
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

/// `Σ_r w_r x[r]` (null if `x` is null): collapsed rules sum the
/// per-direction part of a top coefficient before their final linear map.
static Value sumOverDirections(OpBuilder &builder, Location loc, Value x,
                               Value weights) {
  return x ? buildWeightedDirectionSum(builder, loc, x, weights) : Value();
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

  /// B_K = -B_0 P_K with P_K = Σ_{j=1..K} C(K, j) A_j B_{K-j}, linear in
  /// A_K: Σ_r w_r B_K^(r) = -B_0 (Σ_r w_r P'^(r) + X_K B_0), with P' the
  /// terms j < K. The product with B_0 is taken once, not per direction.
  LogicalResult
  propagateCollapsedJets(Operation *op, OpBuilder &builder,
                         const JetRuleContext &context,
                         ArrayRef<CoefficientList> operands, Value weights,
                         SmallVectorImpl<CoefficientList> &results) const {
    unsigned order = context.order;
    Location loc = op->getLoc();
    Value inverse = results[0][0];
    ArrayRef<Value> a = operands[0];
    MatrixBuilder mb(builder, loc, batchRankOf(inverse));
    CoefficientList bk = inverseCoefficients(mb, a, inverse, order - 1);
    for (unsigned k = 1; k < order; ++k)
      results[0][k] = bk[k];
    Value lower;
    for (unsigned j = 1; j < order; ++j)
      lower = mb.matmul(a[j], bk[order - j], false, false, binomial(order, j),
                        lower);
    Value p = sumOverDirections(builder, loc, lower, weights);
    p = mb.matmul(a[order], inverse, false, false, 1.0, p);
    results[0][order] = mb.matmul(inverse, p, false, false, -1.0);
    return success();
  }
};

struct SlogdetModel : public TaylorRuleByPartsModel<SlogdetModel, SlogdetOp> {
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
  /// `b_k - Σ_{j=1..last} C(k, j) A_j X_{k-j}`.
  static Value residual(MatrixBuilder &mb, ArrayRef<Value> a, Value bk,
                        ArrayRef<Value> x, unsigned k, unsigned last) {
    Value r = bk;
    for (unsigned j = 1; j <= last; ++j)
      r = mb.matmul(a[j], x[k - j], false, false, -binomial(k, j), r);
    return r;
  }

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
    for (unsigned k = 1; k <= context.order; ++k)
      x[k] = mb.matmul(inverse, residual(mb, a, b[k], x, k, k));
    return success();
  }

  /// X_K is B_0 times a residual linear in b_K and A_K: the per-direction
  /// terms (j < K) are summed first, B_0 applied once.
  LogicalResult
  propagateCollapsedJets(Operation *op, OpBuilder &builder,
                         const JetRuleContext &context,
                         ArrayRef<CoefficientList> operands, Value weights,
                         SmallVectorImpl<CoefficientList> &results) const {
    ArrayRef<Value> a = operands[0], b = operands[1];
    if (isPassive(a) && isPassive(b))
      return success();
    unsigned order = context.order;
    Location loc = op->getLoc();
    MatrixBuilder mb(builder, loc, batchRankOf(a[0]));
    Value inverse = MatrixInverseOp::create(builder, loc, a[0]);
    CoefficientList &x = results[0];
    for (unsigned k = 1; k < order; ++k)
      x[k] = mb.matmul(inverse, residual(mb, a, b[k], x, k, k));
    Value lower = residual(mb, a, Value(), x, order, order - 1);
    Value r = mb.add(b[order], sumOverDirections(builder, loc, lower, weights));
    r = mb.matmul(a[order], x[0], false, false, -1.0, r);
    x[order] = mb.matmul(inverse, r);
    return success();
  }
};

struct CholeskyModel
    : public TaylorRuleOpInterface::ExternalModel<CholeskyModel, CholeskyOp> {
  /// `-Σ_{j=1..k-1} C(k, j) L_j L_{k-j}ᵀ`, added to `acc`.
  static Value products(MatrixBuilder &mb, ArrayRef<Value> l, unsigned k,
                        Value acc) {
    for (unsigned j = 1; j < k; ++j)
      acc = mb.matmul(l[j], l[k - j], false, true, -binomial(k, j), acc);
    return acc;
  }

  /// `L_0 Φ(L_0^-1 C L_0^-ᵀ)` (null for a null `c`).
  static Value factorCoefficient(MatrixBuilder &mb, Value factor,
                                 Value factorInverse, Value c) {
    if (!c)
      return c;
    Value s = mb.matmul(mb.matmul(factorInverse, c), factorInverse, false,
                        /*transposeY=*/true);
    return mb.matmul(factor, mb.lowerWithHalfDiagonal(s));
  }

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
    // L_k = L_0 Φ(L_0^-1 C_k L_0^-ᵀ), C_k = A_k - Σ C(k, j) L_j L_{k-j}ᵀ.
    for (unsigned k = 1; k <= context.order; ++k)
      l[k] =
          factorCoefficient(mb, l[0], factorInverse, products(mb, l, k, a[k]));
    return success();
  }

  /// L_K is linear in C_K: the per-direction products are summed first and
  /// the three products of L_0 Φ(L_0^-1 C L_0^-ᵀ) taken once.
  LogicalResult
  propagateCollapsedJets(Operation *op, OpBuilder &builder,
                         const JetRuleContext &context,
                         ArrayRef<CoefficientList> operands, Value weights,
                         SmallVectorImpl<CoefficientList> &results) const {
    ArrayRef<Value> a = operands[0];
    if (isPassive(a))
      return success();
    unsigned order = context.order;
    Location loc = op->getLoc();
    CoefficientList &l = results[0];
    MatrixBuilder mb(builder, loc, batchRankOf(a[0]));
    Value factorInverse = MatrixInverseOp::create(builder, loc, l[0]);
    for (unsigned k = 1; k < order; ++k)
      l[k] =
          factorCoefficient(mb, l[0], factorInverse, products(mb, l, k, a[k]));
    Value lower = products(mb, l, order, Value());
    Value c = mb.add(a[order], sumOverDirections(builder, loc, lower, weights));
    l[order] = factorCoefficient(mb, l[0], factorInverse, c);
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
