//===- TaylorCollapse.cpp - Collapsed Taylor mode -------------------------===//
//
// Implements the `taylor-collapse` pass: weighted sums over directions of top
// coefficients (`taylor.sum`) are pushed from the outputs toward the inputs
// through every `taylor.propagate` whose rule has a linear top coefficient,
// turning it into a collapsed `taylor.propagate`. One generic pattern, driven
// by `TaylorRuleOpInterface::isTopCoefficientLinear`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/Rules.h"
#include "Taylor/Transforms/JetCost.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORCOLLAPSE
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Whether two sums over directions have the same weights.
bool haveSameWeights(SumOp a, SumOp b) {
  return a.getWeights() == b.getWeights() &&
         a.getStaticWeightsAttr() == b.getStaticWeightsAttr();
}

/// Whether the runtime weights of `sum` (if any) are available at `op`.
bool weightsAvailableAt(SumOp sum, Operation *op) {
  Value weights = sum.getWeights();
  return !weights || DominanceInfo(op).properlyDominates(weights, op);
}

/// A sum of `jet` with the weights of `like`, available right before
/// `before` (whose operands include `jet`, and where the weights are
/// available): an existing one, moved up if needed, else a new one.
Value getOrCreateSum(PatternRewriter &rewriter, Value jet, SumOp like,
                     Operation *before) {
  DominanceInfo dominance(before);
  for (Operation *user : jet.getUsers()) {
    auto sum = dyn_cast<SumOp>(user);
    if (!sum || !haveSameWeights(sum, like))
      continue;
    if (!dominance.properlyDominates(sum.getOperation(), before))
      rewriter.moveOpBefore(sum, before);
    return sum.getResult();
  }
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(before);
  return SumOp::create(rewriter, before->getLoc(),
                       cast<JetType>(jet.getType()).getCollapsedType(), jet,
                       like.getWeights(), like.getStaticWeightsAttr());
}

/// A pattern on `taylor.sum` that counts its rewrites (for a statistic).
struct CountingSumPattern : public OpRewritePattern<SumOp> {
  CountingSumPattern(MLIRContext *ctx, unsigned &counter)
      : OpRewritePattern<SumOp>(ctx), counter(counter) {}

  unsigned &counter;
};

/// sum(propagate(a, b, ...)) -> propagate_collapsed(sum(a), sum(b), ...).
///
/// Every sum of a result of the producer with the same weights is replaced
/// at once, and lower coefficients (`coeff` below the top, equal in both
/// forms) are read from the collapsed results. If a result is also used
/// otherwise, the standard producer stays for those uses, next to the
/// collapsed copy.
struct PushSumThroughPropagate : public CountingSumPattern {
  using CountingSumPattern::CountingSumPattern;

  LogicalResult matchAndRewrite(SumOp sum,
                                PatternRewriter &rewriter) const override {
    auto producer = sum.getJet().getDefiningOp<PropagateOp>();
    if (!producer)
      return rewriter.notifyMatchFailure(
          sum, "the summed jet is not produced by taylor.propagate");
    Operation *primal = producer.getPrimalOp();
    auto rule = dyn_cast_or_null<TaylorRuleOpInterface>(primal);
    if (!rule)
      return rewriter.notifyMatchFailure(sum, [&](Diagnostic &diag) {
        diag << "no Taylor-mode rule for the producer's op";
      });
    if (!rule.isTopCoefficientLinear())
      return rewriter.notifyMatchFailure(
          sum, "the producer's rule has no linear top coefficient");
    if (!weightsAvailableAt(sum, producer))
      return rewriter.notifyMatchFailure(
          sum, "the runtime weights are defined after the producer");

    // The sums to replace, and whether the standard producer must stay.
    SmallVector<std::pair<SumOp, unsigned>> sums;
    SmallVector<std::pair<CoeffOp, unsigned>> lowerCoefficients;
    bool keepProducer = false;
    for (OpResult result : producer->getResults()) {
      auto jetType = dyn_cast<JetType>(result.getType());
      if (!jetType)
        continue;
      for (Operation *user : result.getUsers()) {
        if (auto other = dyn_cast<SumOp>(user);
            other && haveSameWeights(other, sum)) {
          sums.push_back({other, result.getResultNumber()});
          continue;
        }
        if (auto coeff = dyn_cast<CoeffOp>(user);
            coeff && coeff.getIndex() < jetType.getOrder()) {
          lowerCoefficients.push_back({coeff, result.getResultNumber()});
          continue;
        }
        keepProducer = true;
      }
    }

    SmallVector<Value> inputs;
    for (Value input : producer.getInputs())
      inputs.push_back(isa<JetType>(input.getType())
                           ? getOrCreateSum(rewriter, input, sum, producer)
                           : input);
    SmallVector<Type> resultTypes;
    for (Type type : producer.getResultTypes()) {
      auto jet = dyn_cast<JetType>(type);
      resultTypes.push_back(jet ? Type(jet.getCollapsedType()) : type);
    }
    rewriter.setInsertionPoint(producer);
    auto collapsed =
        PropagateOp::create(rewriter, producer.getLoc(), resultTypes, inputs,
                            sum.getWeights(), sum.getStaticWeightsAttr());
    Region &body = collapsed.getBody();
    if (keepProducer)
      rewriter.cloneRegionBefore(producer.getBody(), body, body.end());
    else
      rewriter.inlineRegionBefore(producer.getBody(), body, body.end());

    for (auto [other, index] : sums)
      rewriter.replaceOp(other, collapsed.getResult(index));
    for (auto &[coeff, index] : lowerCoefficients) {
      Value replacement = collapsed.getResult(index);
      CoeffOp user = coeff;
      rewriter.modifyOpInPlace(
          user, [&] { user.getJetMutable().assign(replacement); });
    }
    if (!keepProducer) {
      for (OpResult result : producer->getResults())
        if (!isa<JetType>(result.getType()))
          rewriter.replaceAllUsesWith(
              result, collapsed.getResult(result.getResultNumber()));
      rewriter.eraseOp(producer);
    }
    ++counter;
    return success();
  }
};

/// At a seed: sum(make_jet(x_0, ..., x_{K-1}, 0)) -> a collapsed make_jet
/// with a zero top coefficient.
struct CollapseSeed : public CountingSumPattern {
  using CountingSumPattern::CountingSumPattern;

  LogicalResult matchAndRewrite(SumOp sum,
                                PatternRewriter &rewriter) const override {
    auto seed = sum.getJet().getDefiningOp<MakeJetOp>();
    if (!seed)
      return rewriter.notifyMatchFailure(sum, "not a sum of a seed");
    OperandRange coefficients = seed.getCoefficients();
    if (!isZeroTensor(coefficients.back()))
      return rewriter.notifyMatchFailure(
          sum, "the seed's top coefficient is not known to be zero; "
               "taylor-lower sums it");
    SmallVector<Value> collapsed(coefficients.drop_back());
    collapsed.push_back(
        createZeroLike(rewriter, sum.getLoc(), coefficients.front()));
    rewriter.replaceOpWithNewOp<MakeJetOp>(sum, sum.getType(), collapsed);
    ++counter;
    return success();
  }
};

struct TaylorCollapsePass
    : public taylor::impl::TaylorCollapseBase<TaylorCollapsePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    JetCost before = analyzeJetCost(func, costAnalysis);

    // Push the sums to the seeds first (one sum per jet and weights), then
    // collapse the seeds.
    unsigned pushed = 0, seeds = 0;
    RewritePatternSet push(&getContext());
    push.add<PushSumThroughPropagate>(&getContext(), pushed);
    RewritePatternSet atSeeds(&getContext());
    atSeeds.add<CollapseSeed>(&getContext(), seeds);
    if (failed(applyPatternsGreedily(func, std::move(push))) ||
        failed(applyPatternsGreedily(func, std::move(atSeeds)))) {
      func.emitOpError() << "taylor-collapse did not converge";
      return signalPassFailure();
    }
    numSumsPushed += pushed;
    numSeedsCollapsed += seeds;

    JetCost after = analyzeJetCost(func, costAnalysis);
    jetsBefore += before.jets;
    standardJetsAfter += after.standardJets;
    tensorsPerJetBefore = std::max<uint64_t>(tensorsPerJetBefore.getValue(),
                                             before.maxTensorsPerJet);
    tensorsPerJetAfter = std::max<uint64_t>(tensorsPerJetAfter.getValue(),
                                            after.maxTensorsPerJet);
    tensorsBefore += before.tensors;
    tensorsAfter += after.tensors;
    if (!costAnalysis || before.jets == 0)
      return;
    if (before.flops)
      flopsBefore += *before.flops;
    if (after.flops)
      flopsAfter += *after.flops;
    InFlightDiagnostic remark = func.emitRemark();
    remark << "taylor-collapse: " << before.jets << " jets, "
           << "coefficient tensors per jet " << before.maxTensorsPerJet
           << " -> " << after.maxTensorsPerJet << ", in total "
           << before.tensors << " -> " << after.tensors << ", estimated FLOPs ";
    auto print = [&](const std::optional<uint64_t> &flops) {
      if (flops)
        remark << *flops;
      else
        remark << "unknown";
    };
    print(before.flops);
    remark << " -> ";
    print(after.flops);
  }
};

} // namespace
