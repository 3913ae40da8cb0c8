//===- Rules.h - Taylor-mode rules of upstream ops --------------*- C++ -*-===//
//
// Registration of the external models that attach Taylor-mode rules to
// upstream ops, one function per upstream dialect, and shared helpers.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RULES_RULES_H
#define TAYLOR_RULES_RULES_H

#include "Taylor/IR/TaylorInterfaces.h"

#include "mlir/IR/DialectRegistry.h"

namespace mlir {
namespace taylor {

/// Scalar rules of `arith` ops (in linalg bodies).
void registerArithTaylorRules(DialectRegistry &registry);
/// Scalar rules of `math` ops (in linalg bodies).
void registerMathTaylorRules(DialectRegistry &registry);
/// Rules of every `linalg` structured op, from its scalar body.
void registerLinalgTaylorRules(DialectRegistry &registry);
/// Rules of the shape-manipulating `tensor` ops.
void registerTensorTaylorRules(DialectRegistry &registry);

/// Rules of the linear algebra ops of the taylor dialect (inverse, slogdet,
/// Cholesky), from matrix-series recurrences.
void registerMatrixTaylorRules(DialectRegistry &registry);

/// Adjoint rules of every `linalg` structured op, from its scalar body.
void registerLinalgAdjointRules(DialectRegistry &registry);
/// Adjoint rules of the shape-manipulating `tensor` ops.
void registerTensorAdjointRules(DialectRegistry &registry);

/// Adjoint rules of the linear algebra ops of the taylor dialect.
void registerMatrixAdjointRules(DialectRegistry &registry);

/// Registers the Taylor-mode and adjoint rules of every supported upstream
/// dialect and of the taylor dialect's own linear algebra ops.
inline void registerAllTaylorRules(DialectRegistry &registry) {
  registerArithTaylorRules(registry);
  registerMathTaylorRules(registry);
  registerLinalgTaylorRules(registry);
  registerTensorTaylorRules(registry);
  registerMatrixTaylorRules(registry);
  registerLinalgAdjointRules(registry);
  registerTensorAdjointRules(registry);
  registerMatrixAdjointRules(registry);
}

/// Whether `value` is a tensor known to be all zeros (a zero splat constant,
/// or a `linalg.fill` of a zero constant).
bool isZeroTensor(Value value);

/// Materializes an all-zero coefficient tensor `tensor<R x T>` for the primal
/// value `primal : T` (dynamic sizes taken from `primal`).
Value createZeroCoefficient(OpBuilder &builder, Location loc, Value primal,
                            unsigned directions);

/// An uninitialized coefficient tensor `tensor<R x T>` for `primal : T`
/// (a `tensor.empty`, for outputs whose every element is written).
Value createEmptyCoefficient(OpBuilder &builder, Location loc, Value primal,
                             unsigned directions);

/// Coefficient `k` of `jet`, materializing a zero tensor if it is zero (for
/// ops that combine several operands and need every one of them).
Value coefficientOrZero(OpBuilder &builder, Location loc,
                        const CoefficientList &jet, unsigned k,
                        unsigned directions);

/// Materializes an all-zero tensor of the type of `like` (dynamic sizes taken
/// from `like`).
Value createZeroLike(OpBuilder &builder, Location loc, Value like);

/// The type `tensor<R x T>` of the higher coefficients of `primalType`.
RankedTensorType getDirectionalType(Type primalType, unsigned directions);

/// `Σ_r w_r x[r, ...]` for `x : tensor<R x T>`, a `T`, as a `linalg.generic`
/// reducing over the leading dimension. `weights` is a `tensor<R x elt>` or
/// null (all ones); the sum is accumulated into `init : T`, or into zeros if
/// `init` is null.
Value buildWeightedDirectionSum(OpBuilder &builder, Location loc, Value x,
                                Value weights, Value init = Value());

/// Erases the ops of `block` whose results are unused and that have no side
/// effects, last first (the dead scalar code of a generated body).
void eraseDeadOps(Block *block);

/// `lhs + rhs` for two floating-point tensors of one type, as an elementwise
/// `linalg.generic`.
Value buildTensorAdd(OpBuilder &builder, Location loc, Value lhs, Value rhs);

/// `value : T` reshaped to `tensor<1 x T>` (one direction).
Value addUnitDirection(OpBuilder &builder, Location loc, Value value);
/// `value : tensor<1 x T>` reshaped to `T`.
Value dropUnitDirection(OpBuilder &builder, Location loc, Value value);

/// The linear part `J · X_K` of the summed top coefficient of each result of
/// `op`, from the summed top operand coefficients `X_K` (entry `K` of
/// `operands`): the op's order-1 rule with one direction. Entries are null
/// where `J · X_K` is zero (all `X_K` zero). `results` hold the primal
/// results in entry 0.
FailureOr<SmallVector<Value>> applyJacobianToTop(
    TaylorRuleOpInterface op, OpBuilder &builder, const JetRuleContext &context,
    ArrayRef<CoefficientList> operands, ArrayRef<CoefficientList> results);

/// Collapsed propagation through `op` by parts, for any op whose top
/// coefficient is linear: `propagateJets` with the top operand coefficients
/// set to zero gives `N_K^(r)`, a reduction over the directions sums it with
/// `weights` (null: ones), and the op's order-1 rule applied to the summed
/// top operand coefficients adds `J · X_K`.
LogicalResult
propagateCollapsedJetsByParts(TaylorRuleOpInterface op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands, Value weights,
                              SmallVectorImpl<CoefficientList> &results);

/// Base of the external models of `TaylorRuleOpInterface` whose collapsed
/// propagation is the generic one by parts (`propagateCollapsedJetsByParts`):
/// a model derives from it, instead of from
/// `TaylorRuleOpInterface::ExternalModel`, to opt in. (The interface has no
/// default: it lives in the IR layer, below the rules.)
template <typename ConcreteModel, typename ConcreteOp>
struct TaylorRuleByPartsModel
    : public TaylorRuleOpInterface::ExternalModel<ConcreteModel, ConcreteOp> {
  LogicalResult
  propagateCollapsedJets(Operation *op, OpBuilder &builder,
                         const JetRuleContext &context,
                         ArrayRef<CoefficientList> operands, Value weights,
                         SmallVectorImpl<CoefficientList> &results) const {
    return propagateCollapsedJetsByParts(cast<TaylorRuleOpInterface>(op),
                                         builder, context, operands, weights,
                                         results);
  }
};

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_RULES_RULES_H
