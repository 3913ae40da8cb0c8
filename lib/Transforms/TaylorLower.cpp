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

/// Builds `Σ_r w_r x[r, ...]` for `x : tensor<R x T>`, returning a `T`.
/// `weights` is a `tensor<R x elt>` or null (all weights one).
Value buildDirectionSum(OpBuilder &builder, Location loc, Value x,
                        Value weights, RankedTensorType resultType) {
  auto xType = cast<RankedTensorType>(x.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0, e = resultType.getRank(); i < e; ++i)
    if (resultType.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(builder, loc, x, i + 1));
  Type elementType = resultType.getElementType();
  Value empty = tensor::EmptyOp::create(builder, loc, resultType.getShape(),
                                        elementType, dynamicSizes);
  Value zero = arith::ConstantOp::create(builder, loc, elementType,
                                         builder.getZeroAttr(elementType));
  Value init =
      linalg::FillOp::create(builder, loc, zero, empty).getResult(0);

  MLIRContext *ctx = builder.getContext();
  unsigned numLoops = xType.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(numLoops, ctx);
  AffineMap dropDirection = identity.dropResult(0);
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {identity};
  if (weights) {
    inputs.push_back(weights);
    maps.push_back(AffineMap::get(numLoops, 0, builder.getAffineDimExpr(0)));
  }
  maps.push_back(dropDirection);
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  iterators[0] = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
        Value term = args[0];
        if (weights)
          term = arith::MulFOp::create(b, nestedLoc, term, args[1]);
        Value acc = arith::AddFOp::create(b, nestedLoc, args.back(), term);
        linalg::YieldOp::create(b, nestedLoc, acc);
      });
  return generic.getResult(0);
}

/// `taylor.sum` -> `taylor.make_jet` of the unchanged lower coefficients and
/// the reduced top coefficient.
struct LowerSumOp : public OpRewritePattern<SumOp> {
  LowerSumOp(MLIRContext *ctx, llvm::Statistic &counter)
      : OpRewritePattern<SumOp>(ctx), counter(counter) {}

  LogicalResult matchAndRewrite(SumOp op,
                                PatternRewriter &rewriter) const override {
    auto jetType = cast<JetType>(op.getJet().getType());
    Location loc = op.getLoc();
    unsigned order = jetType.getOrder();
    SmallVector<Value> coefficients;
    for (unsigned k = 0; k < order; ++k)
      coefficients.push_back(CoeffOp::create(rewriter, loc, op.getJet(), k));
    Value top = CoeffOp::create(rewriter, loc, op.getJet(), order);

    Value weights = op.getWeights();
    if (std::optional<ArrayRef<double>> staticWeights = op.getStaticWeights()) {
      Type elementType = jetType.getElementType();
      auto weightsType =
          RankedTensorType::get({jetType.getDirections()}, elementType);
      SmallVector<Attribute> values;
      for (double w : *staticWeights)
        values.push_back(rewriter.getFloatAttr(elementType, w));
      weights = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(weightsType, values));
    }
    coefficients.push_back(
        buildDirectionSum(rewriter, loc, top, weights, jetType.getValueType()));
    rewriter.replaceOpWithNewOp<MakeJetOp>(op, op.getType(), coefficients);
    ++counter;
    return success();
  }

  llvm::Statistic &counter;
};

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
  if (make.getType().getCollapsed()) {
    user->emitOpError()
        << "cannot be lowered: collapsed jet operands are not supported yet";
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
  unsigned order = 0, directions = 0;
  for (Type type : llvm::concat<const Type>(propagate.getInputs().getTypes(),
                                            propagate.getResultTypes()))
    if (auto jet = dyn_cast<JetType>(type)) {
      order = jet.getOrder();
      directions = jet.getDirections();
    }
  JetRuleContext context{order, directions};

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
  if (failed(rule.propagateJets(rewriter, context, operands, results)))
    return failure();

  SmallVector<Value> replacements;
  for (auto [result, list, primal] :
       llvm::zip(propagate.getResults(), results, primalResults)) {
    auto jetType = dyn_cast<JetType>(result.getType());
    if (!jetType) {
      replacements.push_back(primal);
      continue;
    }
    SmallVector<Value> coefficients = {primal};
    for (unsigned k = 1; k <= order; ++k)
      coefficients.push_back(list[k] ? list[k]
                                     : createZeroCoefficient(
                                           rewriter, propagate.getLoc(),
                                           primal, directions));
    replacements.push_back(MakeJetOp::create(rewriter, propagate.getLoc(),
                                             jetType, coefficients));
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

struct TaylorLowerPass : public taylor::impl::TaylorLowerBase<TaylorLowerPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    for (Type type : func.getFunctionType().getInputs())
      if (isa<JetType>(type)) {
        func.emitOpError() << "has a jet argument of type " << type
                           << "; pass coefficient tensors and build the jet "
                              "with 'taylor.make_jet' instead";
        return signalPassFailure();
      }

    // Expand taylor.propagate in program order: the jets of its operands are
    // built by the make_jet ops that expanding its producers created.
    SmallVector<PropagateOp> propagates;
    func.walk<WalkOrder::PreOrder>(
        [&](PropagateOp op) { propagates.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (PropagateOp propagate : propagates) {
      if (failed(lowerPropagate(propagate, rewriter)))
        return signalPassFailure();
      ++numPropagatesLowered;
    }

    RewritePatternSet patterns(&getContext());
    patterns.add<LowerSumOp>(&getContext(), numSumsLowered);
    if (failed(applyPatternsGreedily(func, std::move(patterns)))) {
      func.emitOpError() << "taylor-lower did not converge";
      return signalPassFailure();
    }

    bool failedToLower = false;
    func.walk([&](Operation *op) {
      if (!isa<MakeJetOp, CoeffOp, SumOp, PropagateOp>(op))
        return;
      reportUnlowered(op);
      failedToLower = true;
    });
    if (failedToLower)
      signalPassFailure();
  }
};

} // namespace
