//===- GpuSplitReductions.cpp - Parallel reductions for the GPU -----------===//
//
// Implements `taylor-gpu-split-reductions`. Mapped onto a GPU, a reduction
// runs one thread per point of its parallel iteration space, each reducing
// serially; a reduction over the directions or the data with few outputs
// then leaves the GPU almost idle. This pass splits such reductions with
// upstream's `linalg::splitReduction` into a partial reduction with an extra
// parallel dimension and a final reduction over it, choosing the split ratio
// so that the partial reduction has enough threads.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORGPUSPLITREDUCTIONS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// Each thread of a partial reduction reduces at least this many elements.
constexpr int64_t kMinElementsPerThread = 4;

/// The split ratio for a reduction of `reductionSize` elements with
/// `parallelWork` parallel iterations: the smallest divisor `r` of the
/// reduction size in [2, reductionSize / kMinElementsPerThread] with
/// `parallelWork * r >= target`, else the largest divisor in that range; 0 if
/// the range holds no divisor.
int64_t chooseRatio(int64_t reductionSize, int64_t parallelWork,
                    int64_t target) {
  int64_t largest = 0;
  for (int64_t r = 2; r <= reductionSize / kMinElementsPerThread; ++r) {
    if (reductionSize % r != 0)
      continue;
    largest = r;
    if (parallelWork * r >= target)
      return r;
  }
  return largest;
}

/// Splits a reduction with little parallel work (see the pass description).
struct SplitReductionPattern
    : public OpInterfaceRewritePattern<linalg::LinalgOp> {
  SplitReductionPattern(MLIRContext *context, int64_t minReductionSize,
                        int64_t minParallelWork, llvm::Statistic &numSplit)
      : OpInterfaceRewritePattern<linalg::LinalgOp>(context),
        minReductionSize(minReductionSize), minParallelWork(minParallelWork),
        numSplit(numSplit) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    // Analyse first: nothing changes unless the split happens.
    if (!isa<linalg::GenericOp, linalg::ReduceOp>(op))
      return rewriter.notifyMatchFailure(
          op, "a named op other than linalg.reduce (contractions are left "
              "for BLAS)");
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    if (op.getNumReductionLoops() != 1)
      return rewriter.notifyMatchFailure(op, "not exactly one reduction loop");
    if (op.getNumDpsInits() != 1)
      return rewriter.notifyMatchFailure(op, "more than one output");
    if (!op.hasOnlyProjectedPermutations())
      return rewriter.notifyMatchFailure(
          op, "an indexing map is not a projected permutation");
    if (op.hasIndexSemantics())
      return rewriter.notifyMatchFailure(
          op, "the body reads linalg.index (splitting renumbers the loops)");

    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ShapedType::isDynamicShape(ranges))
      return rewriter.notifyMatchFailure(op, "a dynamic loop range");
    SmallVector<unsigned> reductionDims;
    op.getReductionDims(reductionDims);
    int64_t reductionSize = ranges[reductionDims.front()];
    if (reductionSize < minReductionSize)
      return rewriter.notifyMatchFailure(
          op, "reduction smaller than min-reduction-size");
    int64_t parallelWork = 1;
    for (auto [dim, range] : llvm::enumerate(ranges))
      if (dim != reductionDims.front())
        parallelWork *= range;
    if (parallelWork >= minParallelWork)
      return rewriter.notifyMatchFailure(
          op, "enough parallel work (min-parallel-work) without a split");

    SmallVector<Operation *> combiners;
    if (!matchReduction(op.getRegionOutputArgs(), 0, combiners) ||
        combiners.size() != 1 || !arith::getNeutralElement(combiners.front()))
      return rewriter.notifyMatchFailure(
          op, "the combiner is not one op with a neutral element");

    int64_t ratio = chooseRatio(reductionSize, parallelWork, minParallelWork);
    if (ratio < 2)
      return rewriter.notifyMatchFailure(
          op, "no divisor of the reduction size leaves each partial thread "
              "enough elements");

    bool generalized = false;
    if (auto reduce = dyn_cast<linalg::ReduceOp>(op.getOperation())) {
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, reduce);
      if (failed(generic))
        return rewriter.notifyMatchFailure(op, "cannot be generalized");
      op = *generic;
      generalized = true;
    }
    // The new parallel dimension goes outermost, in the loops and in the
    // partial result: it comes before the reduction loop, and threads that
    // differ in the original parallel dimensions write neighbouring
    // partials.
    linalg::ControlSplitReductionFn control = [&](linalg::LinalgOp) {
      return linalg::SplitReductionOptions{ratio, /*index=*/0,
                                           /*innerParallel=*/false};
    };
    if (failed(linalg::splitReduction(rewriter, op, control)))
      // Not expected (checked above); the generalization of a linalg.reduce
      // is a change of its own.
      return success(generalized);
    ++numSplit;
    return success();
  }

  int64_t minReductionSize;
  int64_t minParallelWork;
  llvm::Statistic &numSplit;
};

struct TaylorGpuSplitReductionsPass
    : public taylor::impl::TaylorGpuSplitReductionsBase<
          TaylorGpuSplitReductionsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    patterns.add<SplitReductionPattern>(context, minReductionSize,
                                        minParallelWork, numSplit);
    // Only the splits: no folding of the rest of the function.
    GreedyRewriteConfig config;
    config.enableFolding(false).enableConstantCSE(false);
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config))) {
      getOperation().emitError(
          "taylor-gpu-split-reductions: the splits did not converge");
      return signalPassFailure();
    }
  }
};

} // namespace
