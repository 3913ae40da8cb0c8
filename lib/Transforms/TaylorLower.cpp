//===- TaylorLower.cpp - Lower taylor ops to tensor/linalg ----------------===//
//
// Implements the `taylor-lower` pass: function-local jets are replaced by
// their coefficient tensors, and `taylor.sum` becomes a linalg reduction over
// the direction dimension.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/Rules.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORLOWER
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// The weights of a sum over directions as a `tensor<R x elt>` value, or null
/// when they are all ones (absent, or static ones).
Value materializeWeights(OpBuilder &builder, Location loc, JetType jetType,
                         Value weights,
                         std::optional<ArrayRef<double>> staticWeights) {
  if (weights || !staticWeights)
    return weights;
  if (llvm::all_of(*staticWeights, [](double w) { return w == 1.0; }))
    return Value();
  Type elementType = jetType.getElementType();
  auto weightsType =
      RankedTensorType::get({jetType.getDirections()}, elementType);
  SmallVector<Attribute> values;
  for (double w : *staticWeights)
    values.push_back(builder.getFloatAttr(elementType, w));
  return arith::ConstantOp::create(builder, loc,
                                   DenseElementsAttr::get(weightsType, values));
}

/// `taylor.sum` -> `taylor.make_jet` of the unchanged lower coefficients and
/// the reduced top coefficient.
void lowerSum(SumOp op, MakeJetOp make, RewriterBase &rewriter) {
  auto jetType = cast<JetType>(op.getJet().getType());
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Value> coefficients(make.getCoefficients());
  Value top = coefficients.pop_back_val();
  Value weights = materializeWeights(rewriter, loc, jetType, op.getWeights(),
                                     op.getStaticWeights());
  coefficients.push_back(
      buildWeightedDirectionSum(rewriter, loc, top, weights));
  rewriter.replaceOpWithNewOp<MakeJetOp>(op, op.getType(), coefficients);
}

/// Reports that `user` cannot be lowered because its operand `jet` was not
/// built by a `taylor.make_jet`.
void emitUnlowerableJetOperand(Operation *user, Value jet) {
  InFlightDiagnostic diag = user->emitOpError()
                            << "cannot be lowered: its jet operand is ";
  if (Operation *def = jet.getDefiningOp())
    diag << "produced by '" << def->getName() << "'";
  else
    diag << "a block argument";
  diag << "; jets must be built by 'taylor.make_jet' in the same function";
}

/// The coefficients of a jet operand, from the `taylor.make_jet` that built
/// it; zero tensors become null.
FailureOr<CoefficientList> getCoefficients(Value jet, Operation *user) {
  auto make = jet.getDefiningOp<MakeJetOp>();
  if (!make) {
    emitUnlowerableJetOperand(user, jet);
    return failure();
  }
  CoefficientList list(make.getCoefficients().begin(),
                       make.getCoefficients().end());
  for (unsigned k = 1; k < list.size(); ++k)
    if (isZeroTensor(list[k]))
      list[k] = Value();
  return list;
}

/// Expands `taylor.propagate` with the rule of the op it wraps: the body is
/// inlined (the wrapped op computes coefficient 0) and the rule emits the
/// higher coefficients.
LogicalResult lowerPropagate(PropagateOp propagate, RewriterBase &rewriter) {
  Operation *primalOp = propagate.getPrimalOp();
  auto rule = dyn_cast<TaylorRuleOpInterface>(primalOp);
  if (!rule)
    return propagate.emitOpError() << "cannot be lowered: no Taylor-mode rule "
                                      "for '"
                                   << primalOp->getName() << "'";
  JetType jetType;
  for (Type type : propagate.getInputs().getTypes())
    if (auto jet = dyn_cast<JetType>(type))
      jetType = jet;
  unsigned order = jetType.getOrder(), directions = jetType.getDirections();
  JetRuleContext context{order, directions};
  bool collapsed = propagate.isCollapsed();
  if (collapsed && !rule.isTopCoefficientLinear())
    return propagate.emitOpError()
           << "cannot be lowered: the rule of '" << primalOp->getName()
           << "' has no linear top coefficient, so it cannot take collapsed "
              "jets";

  // Coefficients of the propagate operands, then of the primal op operands.
  SmallVector<CoefficientList> inputs;
  for (Value input : propagate.getInputs()) {
    if (!isa<JetType>(input.getType())) {
      inputs.push_back(context.passive(input));
      continue;
    }
    FailureOr<CoefficientList> list = getCoefficients(input, propagate);
    if (failed(list))
      return failure();
    inputs.push_back(*list);
  }
  SmallVector<CoefficientList> operands;
  for (Value operand : primalOp->getOperands()) {
    auto arg = dyn_cast<BlockArgument>(operand);
    if (arg && arg.getOwner() == &propagate.getBody().front())
      operands.push_back(inputs[arg.getArgNumber()]);
    else
      operands.push_back(context.passive(operand));
  }

  // Inline the body: the primal op now computes coefficient 0.
  SmallVector<Value> primalInputs;
  for (const CoefficientList &list : inputs)
    primalInputs.push_back(list[0]);
  Block &body = propagate.getBody().front();
  auto yield = cast<YieldOp>(body.getTerminator());
  rewriter.inlineBlockBefore(&body, propagate, primalInputs);
  SmallVector<Value> primalResults(yield.getValues());
  rewriter.eraseOp(yield);
  for (auto [operand, list] : llvm::zip(primalOp->getOperands(), operands))
    list[0] = operand;

  SmallVector<CoefficientList> results;
  for (Value result : primalOp->getResults())
    results.push_back(context.passive(result));
  rewriter.setInsertionPoint(propagate);
  if (collapsed) {
    Value weights = materializeWeights(rewriter, propagate.getLoc(), jetType,
                                       propagate.getWeights(),
                                       propagate.getStaticWeights());
    if (failed(rule.propagateCollapsedJets(rewriter, context, operands, weights,
                                           results)))
      return failure();
  } else if (failed(rule.propagateJets(rewriter, context, operands, results))) {
    return failure();
  }

  SmallVector<Value> replacements;
  for (auto [result, list, primal] :
       llvm::zip(propagate.getResults(), results, primalResults)) {
    auto jetType = dyn_cast<JetType>(result.getType());
    if (!jetType) {
      replacements.push_back(primal);
      continue;
    }
    SmallVector<Value> coefficients = {primal};
    for (unsigned k = 1; k <= order; ++k) {
      if (list[k])
        coefficients.push_back(list[k]);
      else if (collapsed && k == order)
        coefficients.push_back(
            createZeroLike(rewriter, propagate.getLoc(), primal));
      else
        coefficients.push_back(createZeroCoefficient(
            rewriter, propagate.getLoc(), primal, directions));
    }
    replacements.push_back(
        MakeJetOp::create(rewriter, propagate.getLoc(), jetType, coefficients));
  }
  rewriter.replaceOp(propagate, replacements);
  return success();
}

/// Explains why a taylor op survived the lowering.
void reportUnlowered(Operation *op) {
  if (auto make = dyn_cast<MakeJetOp>(op)) {
    Operation *user = *make->getUsers().begin();
    make.emitOpError() << "cannot be lowered: its jet is used by '"
                       << user->getName()
                       << "', which has no lowering for jet operands";
    return;
  }
  emitUnlowerableJetOperand(op, op->getOperand(0));
}

} // namespace

LogicalResult mlir::taylor::lowerTaylorOps(func::FuncOp func,
                                           TaylorLowerCounts *counts) {
  for (Type type : func.getFunctionType().getInputs())
    if (isa<JetType>(type))
      return func.emitOpError() << "has a jet argument of type " << type
                                << "; pass coefficient tensors and build the "
                                   "jet with 'taylor.make_jet' instead";

  // Expand taylor.propagate and taylor.sum in program order: the jets of
  // their operands are built by the make_jet ops that expanding their
  // producers created (a sum of a seed can feed a collapsed propagate).
  SmallVector<Operation *> jetOps;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<PropagateOp, SumOp>(op))
      jetOps.push_back(op);
  });
  IRRewriter rewriter(func.getContext());
  unsigned sums = 0;
  for (Operation *op : jetOps) {
    if (auto sum = dyn_cast<SumOp>(op)) {
      // A sum of a foreign jet is reported below.
      if (auto make = sum.getJet().getDefiningOp<MakeJetOp>()) {
        lowerSum(sum, make, rewriter);
        ++sums;
      }
      continue;
    }
    if (failed(lowerPropagate(cast<PropagateOp>(op), rewriter)))
      return failure();
    if (counts)
      ++counts->propagates;
  }

  // Fold the coefficient reads of the make_jet ops (no patterns: folding).
  if (failed(applyPatternsGreedily(func, RewritePatternSet(func.getContext()))))
    return func.emitOpError() << "taylor-lower did not converge";
  if (counts)
    counts->sums += sums;

  bool failedToLower = false;
  func.walk([&](Operation *op) {
    if (!isa<MakeJetOp, CoeffOp, SumOp, PropagateOp>(op))
      return;
    reportUnlowered(op);
    failedToLower = true;
  });
  return failure(failedToLower);
}

namespace {

struct TaylorLowerPass : public taylor::impl::TaylorLowerBase<TaylorLowerPass> {
  using Base::Base;

  void runOnOperation() override {
    TaylorLowerCounts counts;
    if (failed(lowerTaylorOps(getOperation(), &counts)))
      signalPassFailure();
    numPropagatesLowered += counts.propagates;
    numSumsLowered += counts.sums;
  }
};

} // namespace
