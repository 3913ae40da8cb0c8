//===- HoistDirectionInvariants.cpp - Compute once, not per direction -----===//
//
// Implements `taylor-hoist-direction-invariants`. The coefficient generics
// that the Taylor rules build loop over the directions outermost, and their
// bodies recompute the primal scalar function (tanh(x_0) and its
// derivatives, say) for every direction. This pass moves the body ops that do
// not depend on the outermost loop into a separate generic over the other
// loops, whose results the original generic reads: computed once instead of
// R times.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORHOISTDIRECTIONINVARIANTS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// Whether recomputing `op` per iteration costs more than reading its result
/// (transcendental functions and divisions; not adds and multiplies).
bool isWorthHoisting(Operation *op) {
  return isa<math::MathDialect>(op->getDialect()) ||
         isa<arith::DivFOp, arith::RemFOp>(op);
}

struct HoistDirectionInvariants : public OpRewritePattern<linalg::GenericOp> {
  HoistDirectionInvariants(MLIRContext *ctx, unsigned &counter)
      : OpRewritePattern<linalg::GenericOp>(ctx), counter(counter) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    unsigned numLoops = op.getNumLoops();
    if (!op.hasPureTensorSemantics() || numLoops < 2)
      return rewriter.notifyMatchFailure(op, "not a tensor loop nest of >= 2");
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    if (llvm::any_of(llvm::drop_begin(iterators),
                     [](auto t) { return t != utils::IteratorType::parallel; }))
      return rewriter.notifyMatchFailure(op, "inner loops are not parallel");
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ranges[0] == 1)
      return rewriter.notifyMatchFailure(op, "the outer loop has one trip");

    // Values that vary with the outer loop d0.
    Block *body = op.getBody();
    DenseSet<Value> varying;
    for (OpOperand &operand : op->getOpOperands())
      if (op.isDpsInit(&operand) ||
          op.getMatchingIndexingMap(&operand).isFunctionOfDim(0))
        varying.insert(op.getMatchingBlockArgument(&operand));
    llvm::SetVector<Operation *> hoisted;
    for (Operation &bodyOp : body->without_terminator()) {
      auto index = dyn_cast<linalg::IndexOp>(bodyOp);
      bool varies = (index && index.getDim() == 0) ||
                    bodyOp.getNumRegions() != 0 ||
                    llvm::any_of(bodyOp.getOperands(),
                                 [&](Value v) { return varying.contains(v); });
      if (varies) {
        for (Value result : bodyOp.getResults())
          varying.insert(result);
      } else if (!bodyOp.hasTrait<OpTrait::ConstantLike>()) {
        hoisted.insert(&bodyOp);
      }
    }
    // Only float values cross to the consumer (no i1 or index tensors): an
    // invariant op with another result used outside stays in the consumer.
    auto usedOutside = [&](Value v) {
      return llvm::any_of(v.getUsers(), [&](Operation *user) {
        return !hoisted.contains(user);
      });
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (Operation *h : llvm::make_early_inc_range(hoisted))
        if (llvm::any_of(h->getResults(), [&](Value v) {
              return !isa<FloatType>(v.getType()) && usedOutside(v);
            })) {
          hoisted.remove(h);
          changed = true;
        }
    }
    if (!llvm::any_of(hoisted, isWorthHoisting))
      return rewriter.notifyMatchFailure(op, "nothing costly is invariant");
    SmallVector<Value> crossing;
    for (Operation *h : hoisted)
      for (Value result : h->getResults())
        if (usedOutside(result))
          crossing.push_back(result);

    // The producer: the hoisted ops over loops d1 .. d_{n-1}.
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    llvm::SmallBitVector outerDim(numLoops);
    outerDim.set(0);
    SmallVector<Value> producerInputs;
    SmallVector<AffineMap> producerMaps;
    SmallVector<BlockArgument> producerArgs;
    for (OpOperand *input : op.getDpsInputOperands()) {
      BlockArgument arg = op.getMatchingBlockArgument(input);
      if (varying.contains(arg) ||
          llvm::none_of(arg.getUsers(),
                        [&](Operation *u) { return hoisted.contains(u); }))
        continue;
      producerInputs.push_back(input->get());
      producerMaps.push_back(
          compressDims(op.getMatchingIndexingMap(input), outerDim));
      producerArgs.push_back(arg);
    }
    SmallVector<Range, 4> loopRanges = cast<linalg::LinalgOp>(op.getOperation())
                                           .createLoopRanges(rewriter, loc);
    SmallVector<OpFoldResult> sizes;
    for (const Range &range : llvm::drop_begin(loopRanges))
      sizes.push_back(range.size);
    SmallVector<Value> producerInits;
    AffineMap inner = AffineMap::getMultiDimIdentityMap(numLoops - 1, ctx);
    for (Value v : crossing) {
      producerInits.push_back(
          tensor::EmptyOp::create(rewriter, loc, sizes, v.getType()));
      producerMaps.push_back(inner);
    }
    SmallVector<utils::IteratorType> producerIterators(
        numLoops - 1, utils::IteratorType::parallel);
    auto producer = linalg::GenericOp::create(
        rewriter, loc, ValueRange(producerInits).getTypes(), producerInputs,
        producerInits, producerMaps, producerIterators,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          IRMapping mapping;
          for (auto [oldArg, newArg] : llvm::zip(producerArgs, args))
            mapping.map(oldArg, newArg);
          for (Operation *h : hoisted) {
            if (auto index = dyn_cast<linalg::IndexOp>(h)) {
              mapping.map(
                  index.getResult(),
                  linalg::IndexOp::create(b, nestedLoc, index.getDim() - 1));
              continue;
            }
            b.clone(*h, mapping);
          }
          SmallVector<Value> yielded;
          for (Value v : crossing)
            yielded.push_back(mapping.lookup(v));
          linalg::YieldOp::create(b, nestedLoc, yielded);
        });

    // The consumer: the original, reading the hoisted values.
    SmallVector<Value> inputs(op.getInputs());
    llvm::append_range(inputs, producer.getResults());
    SmallVector<AffineMap> maps;
    for (OpOperand *input : op.getDpsInputOperands())
      maps.push_back(op.getMatchingIndexingMap(input));
    AffineMap dropOuter =
        AffineMap::getMultiDimIdentityMap(numLoops, ctx).dropResult(0);
    maps.append(crossing.size(), dropOuter);
    for (OpOperand &init : op.getDpsInitsMutable())
      maps.push_back(op.getMatchingIndexingMap(&init));
    auto consumer =
        linalg::GenericOp::create(rewriter, loc, op.getResultTypes(), inputs,
                                  op.getOutputs(), maps, iterators);
    rewriter.inlineRegionBefore(op.getRegion(), consumer.getRegion(),
                                consumer.getRegion().begin());
    Block *newBody = consumer.getBody();
    unsigned position = op.getNumDpsInputs();
    for (auto [i, v] : llvm::enumerate(crossing)) {
      BlockArgument arg =
          newBody->insertArgument(position + i, v.getType(), loc);
      rewriter.replaceUsesWithIf(v, arg, [&](OpOperand &use) {
        return !hoisted.contains(use.getOwner());
      });
    }
    for (Operation *h : llvm::reverse(hoisted))
      rewriter.eraseOp(h);
    rewriter.replaceOp(op, consumer.getResults());
    ++counter;
    return success();
  }

  unsigned &counter;
};

struct TaylorHoistDirectionInvariantsPass
    : public taylor::impl::TaylorHoistDirectionInvariantsBase<
          TaylorHoistDirectionInvariantsPass> {
  using Base::Base;

  void runOnOperation() override {
    unsigned hoisted = 0;
    RewritePatternSet patterns(&getContext());
    patterns.add<HoistDirectionInvariants>(&getContext(), hoisted);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    numHoisted += hoisted;
  }
};

} // namespace
