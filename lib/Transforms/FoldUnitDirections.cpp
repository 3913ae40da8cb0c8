//===- FoldUnitDirections.cpp - Products with unit directions as slices ---===//
//
// Implements `taylor-fold-unit-directions`. Identity seeds (exact Laplacians
// and biharmonics) are tensors `x_1[r, b, d] = (r == d)`; the first
// contraction of a network multiplies them with a weight matrix, a dense
// D x D product per datum whose result is just a slice of the weights. This
// pass recognizes a contraction `out += delta * g` over a reduction loop `q`
// of a Kronecker delta `delta(p, q)` and rewrites it without the loop:
// `out += g[q := p]`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORFOLDUNITDIRECTIONS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// If `value` is a Kronecker delta, `value[i] = (i[a] == i[b]) ? 1 : 0` built
/// by an input-less `linalg.generic` with an identity map, with equal static
/// sizes along `a` and `b`: returns `{a, b}`.
std::optional<std::pair<unsigned, unsigned>> matchKroneckerDelta(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 0 ||
      generic.getNumResults() != 1 ||
      !generic.getIndexingMapsArray()[0].isIdentity())
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  auto select = yield.getOperand(0).getDefiningOp<arith::SelectOp>();
  if (!select || !matchPattern(select.getTrueValue(), m_OneFloat()) ||
      !matchPattern(select.getFalseValue(), m_AnyZeroFloat()))
    return std::nullopt;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::eq)
    return std::nullopt;
  auto lhs = cmp.getLhs().getDefiningOp<linalg::IndexOp>();
  auto rhs = cmp.getRhs().getDefiningOp<linalg::IndexOp>();
  if (!lhs || !rhs || lhs.getDim() == rhs.getDim())
    return std::nullopt;
  auto type = cast<RankedTensorType>(value.getType());
  unsigned a = lhs.getDim(), b = rhs.getDim();
  if (type.isDynamicDim(a) || type.getDimSize(a) != type.getDimSize(b))
    return std::nullopt;
  return std::make_pair(a, b);
}

struct FoldKroneckerContraction : public OpRewritePattern<linalg::GenericOp> {
  FoldKroneckerContraction(MLIRContext *ctx, unsigned &counter)
      : OpRewritePattern<linalg::GenericOp>(ctx), counter(counter) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1)
      return rewriter.notifyMatchFailure(op, "not a one-output tensor generic");
    Block *body = op.getBody();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    BlockArgument out = body->getArgument(op.getNumDpsInputs());
    if (!add)
      return rewriter.notifyMatchFailure(op, "body is not out + a * b");
    Value product = add.getLhs() == out ? add.getRhs() : add.getLhs();
    auto mul = product.getDefiningOp<arith::MulFOp>();
    if (!mul || (add.getLhs() != out && add.getRhs() != out) ||
        !mul->hasOneUse())
      return rewriter.notifyMatchFailure(op, "body is not out + a * b");

    if (!body->getOps<linalg::IndexOp>().empty())
      return rewriter.notifyMatchFailure(
          op, "the body reads loop indices (dropping a loop renumbers them)");

    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    for (OpOperand *input : op.getDpsInputOperands()) {
      BlockArgument arg = body->getArgument(input->getOperandNumber());
      if ((mul.getLhs() != arg && mul.getRhs() != arg) || !arg.hasOneUse())
        continue;
      std::optional<std::pair<unsigned, unsigned>> delta =
          matchKroneckerDelta(input->get());
      if (!delta)
        continue;
      AffineMap map = op.getMatchingIndexingMap(input);
      auto first = dyn_cast<AffineDimExpr>(map.getResult(delta->first));
      auto second = dyn_cast<AffineDimExpr>(map.getResult(delta->second));
      if (!first || !second || first == second)
        continue;
      unsigned p = first.getPosition(), q = second.getPosition();
      if (iterators[q] != utils::IteratorType::reduction)
        std::swap(p, q);
      if (iterators[q] != utils::IteratorType::reduction)
        continue;
      Value other = mul.getLhs() == arg ? mul.getRhs() : mul.getLhs();
      rewrite(op, input->getOperandNumber(), p, q, mul, other, rewriter);
      ++counter;
      return success();
    }
    return rewriter.notifyMatchFailure(
        op, "no Kronecker-delta input contracted over a reduction loop");
  }

  /// Replaces `op` by a generic without loop `q` (read as `p`) and without
  /// the delta operand `deltaIndex`, whose body adds `other`.
  void rewrite(linalg::GenericOp op, unsigned deltaIndex, unsigned p,
               unsigned q, arith::MulFOp mul, Value other,
               PatternRewriter &rewriter) const {
    MLIRContext *ctx = op.getContext();
    unsigned numLoops = op.getNumLoops();
    SmallVector<AffineExpr> replacements;
    for (unsigned d = 0, next = 0; d < numLoops; ++d)
      replacements.push_back(d == q ? AffineExpr()
                                    : getAffineDimExpr(next++, ctx));
    replacements[q] = replacements[p];
    SmallVector<AffineMap> maps;
    SmallVector<Value> inputs;
    for (OpOperand &operand : op->getOpOperands()) {
      if (operand.getOperandNumber() == deltaIndex)
        continue;
      AffineMap map = op.getMatchingIndexingMap(&operand);
      maps.push_back(map.replaceDimsAndSymbols(replacements, {}, numLoops - 1,
                                               map.getNumSymbols()));
      if (operand.getOperandNumber() < op.getNumDpsInputs())
        inputs.push_back(operand.get());
    }
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    iterators.erase(iterators.begin() + q);

    rewriter.replaceAllUsesWith(mul.getResult(), other);
    rewriter.eraseOp(mul);
    auto folded =
        linalg::GenericOp::create(rewriter, op.getLoc(), op.getResultTypes(),
                                  inputs, op.getOutputs(), maps, iterators);
    rewriter.inlineRegionBefore(op.getRegion(), folded.getRegion(),
                                folded.getRegion().begin());
    folded.getBody()->eraseArgument(deltaIndex);
    rewriter.replaceOp(op, folded.getResults());
  }

  unsigned &counter;
};

struct TaylorFoldUnitDirectionsPass
    : public taylor::impl::TaylorFoldUnitDirectionsBase<
          TaylorFoldUnitDirectionsPass> {
  using Base::Base;

  void runOnOperation() override {
    unsigned folded = 0;
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldKroneckerContraction>(&getContext(), folded);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    numFolded += folded;
  }
};

} // namespace
