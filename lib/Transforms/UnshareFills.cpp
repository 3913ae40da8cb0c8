//===- UnshareFills.cpp - One fill per destination ------------------------===//
//
// Implements `taylor-unshare-fills`. CSE merges identical fills (the zero
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
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() &&
          fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
        fills.push_back(fill);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::FillOp fill : fills) {
      Value result = fill.getResult(0);
      // Every destination use but the first in program order gets its own
      // fill; the first one too if the fill is also read otherwise.
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
          (destinations.size() == 1 && !readOtherwise))
        continue;
      llvm::sort(destinations, [](OpOperand *a, OpOperand *b) {
        Operation *x = a->getOwner(), *y = b->getOwner();
        return x->getBlock() == y->getBlock() && x->isBeforeInBlock(y);
      });
      auto empty = fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>();
      for (OpOperand *use :
           llvm::drop_begin(destinations, readOtherwise ? 0 : 1)) {
        rewriter.setInsertionPoint(use->getOwner());
        Operation *newEmpty = rewriter.clone(*empty);
        IRMapping mapping;
        mapping.map(empty.getResult(), newEmpty->getResult(0));
        Operation *newFill = rewriter.clone(*fill, mapping);
        rewriter.modifyOpInPlace(use->getOwner(),
                                 [&] { use->set(newFill->getResult(0)); });
        ++numFillsCloned;
      }
    }
  }
};

} // namespace
