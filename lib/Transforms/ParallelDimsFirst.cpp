//===- ParallelDimsFirst.cpp - Parallel linalg loops outermost ------------===//
//
// Implements `taylor-parallel-dims-first`: every linalg op whose loops are
// not already ordered parallel-first gets its loops permuted (named ops are
// generalized first) so that `convert-linalg-to-parallel-loops` emits one
// outer `scf.parallel` holding the `scf.for` of its reductions, which the GPU
// mapping needs.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORPARALLELDIMSFIRST
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// The loop permutation that puts the parallel loops of `op` first, each
/// group in its order (`interchangeGenericOp`'s convention: new loop `i` is
/// old loop `result[i]`); empty if they already come first.
SmallVector<unsigned> getParallelFirstPermutation(linalg::LinalgOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> parallel, other;
  for (auto [i, iterator] : llvm::enumerate(iterators))
    (iterator == utils::IteratorType::parallel ? parallel : other).push_back(i);
  SmallVector<unsigned> permutation = parallel;
  llvm::append_range(permutation, other);
  bool identity = llvm::all_of(llvm::enumerate(permutation), [](auto entry) {
    return entry.index() == entry.value();
  });
  if (identity)
    return {};
  return permutation;
}

struct TaylorParallelDimsFirstPass
    : public taylor::impl::TaylorParallelDimsFirstBase<
          TaylorParallelDimsFirstPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!getParallelFirstPermutation(op).empty())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      SmallVector<unsigned> permutation = getParallelFirstPermutation(op);
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> generalized =
            linalg::generalizeNamedOp(rewriter, op);
        // An op without a region builder keeps its order (its loops stay as
        // they are: correct, only less parallel).
        if (failed(generalized))
          continue;
        generic = *generalized;
      }
      if (failed(linalg::interchangeGenericOp(rewriter, generic, permutation)))
        continue;
      ++numInterchanged;
    }
  }
};

} // namespace
