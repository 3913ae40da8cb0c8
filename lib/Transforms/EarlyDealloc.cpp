//===- EarlyDealloc.cpp - Free buffers right after their last use ---------===//
//
// Implements `taylor-early-dealloc`. MLIR's ownership-based buffer
// deallocation frees buffers at the end of their block, so in straight-line
// code every intermediate buffer of a function stays alive until it returns:
// the peak memory is the sum of all buffers. This pass moves each such
// `memref.dealloc` up to right after the last use of the buffer or of any
// view of it, so that the peak is what is live at once.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLOREARLYDEALLOC
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// The last op of `block` that uses `buffer` or a view of it (nested uses
/// count as their ancestor in `block`), or null if the buffer may escape:
/// used outside `block`, by the block's terminator, by a call, or by an op
/// that returns a memref other than a view of it.
Operation *findLastUse(Value buffer, Operation *dealloc, Block *block) {
  SmallVector<Value> worklist = {buffer};
  Operation *last = buffer.getDefiningOp();
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (user == dealloc)
        continue;
      Operation *ancestor = block->findAncestorOpInBlock(*user);
      if (!ancestor || ancestor == block->getTerminator())
        return nullptr;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() != value)
          return nullptr;
        worklist.push_back(view->getResult(0));
      } else if (isa<CallOpInterface>(user) ||
                 llvm::any_of(user->getResultTypes(),
                              [](Type t) { return isa<BaseMemRefType>(t); })) {
        // A call may keep the buffer; another op returning a memref may
        // alias it in a way this pass does not follow.
        return nullptr;
      }
      if (last->isBeforeInBlock(ancestor))
        last = ancestor;
    }
  }
  return last;
}

struct TaylorEarlyDeallocPass
    : public taylor::impl::TaylorEarlyDeallocBase<TaylorEarlyDeallocPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation().walk(
        [&](memref::DeallocOp dealloc) { deallocs.push_back(dealloc); });
    for (memref::DeallocOp dealloc : deallocs) {
      Value buffer = dealloc.getMemref();
      auto alloc = buffer.getDefiningOp<memref::AllocOp>();
      Block *block = dealloc->getBlock();
      if (!alloc || alloc->getBlock() != block)
        continue;
      Operation *last = findLastUse(buffer, dealloc, block);
      if (!last || !last->isBeforeInBlock(dealloc))
        continue;
      if (last->getNextNode() != dealloc.getOperation()) {
        dealloc->moveAfter(last);
        ++numDeallocsMoved;
      }
    }
  }
};

} // namespace
