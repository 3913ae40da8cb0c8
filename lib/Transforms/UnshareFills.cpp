//===- UnshareFills.cpp - One fill per destination ------------------------===//
//
// Implements `taylor-unshare-fills`. CSE merges identical empty tensors and
// fills (the zero
// initial values of reductions); a fill that several ops use as their
// destination forces one-shot bufferization to copy it for all but one of
// them and to keep it alive until the last, which costs a buffer and a copy
// per extra use. This pass gives every destination use its own fill (of its
// own `tensor.empty`), which bufferizes in place.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORUNSHAREFILLS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

struct TaylorUnshareFillsPass
    : public taylor::impl::TaylorUnshareFillsBase<TaylorUnshareFillsPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // An empty tensor used by several ops is one allocation, and all but one
    // of its users then get a copy; and it is allocated where it is defined,
    // which CSE may have moved far up. Every use gets its own, right before
    // it (they are free).
    SmallVector<tensor::EmptyOp> empties;
    getOperation().walk([&](tensor::EmptyOp empty) {
      if (!empty->hasOneUse() && !empty->use_empty())
        empties.push_back(empty);
    });
    for (tensor::EmptyOp empty : empties) {
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          empty->getUses(), [](OpOperand &use) { return &use; });
      for (OpOperand *use : uses) {
        rewriter.setInsertionPoint(use->getOwner());
        Operation *clone = rewriter.clone(*empty);
        rewriter.modifyOpInPlace(use->getOwner(),
                                 [&] { use->set(clone->getResult(0)); });
        ++numEmptiesCloned;
      }
      rewriter.eraseOp(empty);
    }

    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() &&
          fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      Value result = fill.getResult(0);
      // Every destination use gets its own fill right before it; the
      // original stays only for other reads.
      SmallVector<OpOperand *> destinations;
      bool readOtherwise = false;
      for (OpOperand &use : result.getUses()) {
        auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
        if (dps && dps.isDpsInit(&use))
          destinations.push_back(&use);
        else
          readOtherwise = true;
      }
      if (destinations.empty() ||
          (destinations.size() == 1 && !readOtherwise &&
           fill->getNextNode() == destinations.front()->getOwner()))
        continue;
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      for (OpOperand *use : destinations) {
        rewriter.setInsertionPoint(use->getOwner());
        Operation *newEmpty = rewriter.clone(*empty);
        IRMapping mapping;
        mapping.map(empty.getResult(), newEmpty->getResult(0));
        Operation *newFill = rewriter.clone(*fill, mapping);
        rewriter.modifyOpInPlace(use->getOwner(),
                                 [&] { use->set(newFill->getResult(0)); });
        ++numFillsCloned;
      }
      if (fill->use_empty()) {
        rewriter.eraseOp(fill);
        if (empty->use_empty())
          rewriter.eraseOp(empty);
      }
    }
  }
};

} // namespace
