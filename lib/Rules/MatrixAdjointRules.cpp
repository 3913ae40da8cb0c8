//===- MatrixAdjointRules.cpp - Adjoint rules of matrix ops ---------------===//
//
// Reverse-mode rules of the linear algebra ops of the taylor dialect (the
// standard matrix calculus identities, as in PyTorch's derivatives):
//
// - inverse `B = A^-1`:  Ā += -Bᵀ B̄ Bᵀ;
// - solve `X = A^-1 b`:  b̄ += A^-ᵀ X̄, Ā += -(A^-ᵀ X̄) Xᵀ;
// - `(sign, l) = slogdet(A)`:  Ā += l̄ A^-ᵀ (the sign is piecewise constant);
// - Cholesky `L`:  Ā += L^-ᵀ P L^-1 with M = Lᵀ L̄ and
//   P = ½ (tril(M) + tril(M, -1)ᵀ) (the adjoint of L̄ ↦ L Φ(L^-1 · L^-ᵀ),
//   symmetrized as PyTorch does).
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/MatrixArithmetic.h"
#include "Taylor/Rules/Rules.h"

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Base of the models of the single-operand matrix ops:
/// `Derived::contribution(op, mb, b)` returns the contribution to the operand's
/// adjoint, or null.
template <typename Derived, typename OpTy>
struct MatrixAdjointModel
    : public AdjointRuleOpInterface::ExternalModel<Derived, OpTy> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &builder,
                             AdjointState &state) const {
    Value input = op->getOperand(0);
    if (!state.isActive(input))
      return success();
    auto batchRank = cast<RankedTensorType>(input.getType()).getRank() - 2;
    MatrixBuilder mb(builder, op->getLoc(), batchRank);
    Value contribution =
        Derived::contribution(cast<OpTy>(op), builder, mb, state);
    if (contribution)
      state.addToAdjoint(builder, op->getLoc(), input, contribution);
    return success();
  }
};

struct MatrixInverseAdjoint
    : MatrixAdjointModel<MatrixInverseAdjoint, MatrixInverseOp> {
  static Value contribution(MatrixInverseOp op, OpBuilder &, MatrixBuilder &mb,
                            AdjointState &state) {
    Value inverse = op.getResult();
    Value adjoint = state.getAdjoint(inverse);
    if (!adjoint)
      return Value();
    // -Bᵀ B̄ Bᵀ.
    return mb.matmul(mb.matmul(inverse, adjoint, /*transposeX=*/true), inverse,
                     false, /*transposeY=*/true, -1.0);
  }
};

struct SlogdetAdjoint : MatrixAdjointModel<SlogdetAdjoint, SlogdetOp> {
  static Value contribution(SlogdetOp op, OpBuilder &builder, MatrixBuilder &mb,
                            AdjointState &state) {
    Value adjoint = state.getAdjoint(op.getLogabsdet());
    if (!adjoint)
      return Value();
    Value inverse =
        MatrixInverseOp::create(builder, op.getLoc(), op.getInput());
    return mb.scaleMatrices(adjoint, inverse, /*transposeX=*/true);
  }
};

struct SolveAdjoint
    : public AdjointRuleOpInterface::ExternalModel<SolveAdjoint, SolveOp> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &builder,
                             AdjointState &state) const {
    auto solve = cast<SolveOp>(op);
    Value adjoint = state.getAdjoint(solve.getResult());
    bool matrixActive = state.isActive(solve.getMatrix());
    bool rhsActive = state.isActive(solve.getRhs());
    if (!adjoint || (!matrixActive && !rhsActive))
      return success();
    Location loc = op->getLoc();
    auto batchRank = solve.getMatrix().getType().getRank() - 2;
    MatrixBuilder mb(builder, loc, batchRank);
    // b̄ = A^-ᵀ X̄, Ā = -b̄ Xᵀ.
    Value inverse = MatrixInverseOp::create(builder, loc, solve.getMatrix());
    Value rhsAdjoint = mb.matmul(inverse, adjoint, /*transposeX=*/true);
    if (rhsActive)
      state.addToAdjoint(builder, loc, solve.getRhs(), rhsAdjoint);
    if (matrixActive)
      state.addToAdjoint(builder, loc, solve.getMatrix(),
                         mb.matmul(rhsAdjoint, solve.getResult(), false,
                                   /*transposeY=*/true, -1.0));
    return success();
  }
};

struct CholeskyAdjoint : MatrixAdjointModel<CholeskyAdjoint, CholeskyOp> {
  static Value contribution(CholeskyOp op, OpBuilder &builder,
                            MatrixBuilder &mb, AdjointState &state) {
    Value factor = op.getResult();
    Value adjoint = state.getAdjoint(factor);
    if (!adjoint)
      return Value();
    Value factorInverse = MatrixInverseOp::create(builder, op.getLoc(), factor);
    Value p = mb.halfSymmetrizedLower(
        mb.matmul(factor, adjoint, /*transposeX=*/true));
    return mb.matmul(mb.matmul(factorInverse, p, /*transposeX=*/true),
                     factorInverse);
  }
};

} // namespace

void mlir::taylor::registerMatrixAdjointRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, TaylorDialect *) {
    MatrixInverseOp::attachInterface<MatrixInverseAdjoint>(*ctx);
    SlogdetOp::attachInterface<SlogdetAdjoint>(*ctx);
    SolveOp::attachInterface<SolveAdjoint>(*ctx);
    CholeskyOp::attachInterface<CholeskyAdjoint>(*ctx);
  });
}
