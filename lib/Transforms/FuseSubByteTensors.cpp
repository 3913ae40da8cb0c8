//===- FuseSubByteTensors.cpp - Fuse away i1 tensors ----------------------===//
//
// Implements `taylor-fuse-sub-byte-tensors`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORFUSESUBBYTETENSORS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// Whether `type` is a tensor of elements narrower than a byte.
bool isSubByteTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return false;
  Type element = tensor.getElementType();
  return element.isIntOrFloat() && element.getIntOrFloatBitWidth() < 8;
}

/// `tensor` with the element type `element`.
RankedTensorType withElement(Value tensor, Type element) {
  return cast<RankedTensorType>(tensor.getType()).clone(element);
}

/// An elementwise `linalg.generic` applying `cast` (extui or trunci) to
/// every element of `tensor`, which becomes of element type `element`.
template <typename CastOp>
Value castElements(RewriterBase &rewriter, Location loc, Value tensor,
                   Type element) {
  auto type = withElement(tensor, element);
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(rewriter, loc, tensor);
  Value init = tensor::EmptyOp::create(rewriter, loc, sizes, element);
  AffineMap identity = rewriter.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> parallel(type.getRank(),
                                            utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      rewriter, loc, type, tensor, init,
      ArrayRef<AffineMap>{identity, identity}, parallel,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value cast = CastOp::create(b, l, element, args[0]);
        linalg::YieldOp::create(b, l, cast);
      });
  return generic.getResult(0);
}

/// `init` (an i1 tensor) as an i8 tensor: an empty tensor stays empty, a
/// fill fills with the widened scalar, anything else is widened elementwise.
Value widenInit(RewriterBase &rewriter, Location loc, Value init, Type wide) {
  if (auto empty = init.getDefiningOp<tensor::EmptyOp>())
    return tensor::EmptyOp::create(rewriter, loc, empty.getMixedSizes(), wide);
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    Value scalar =
        arith::ExtUIOp::create(rewriter, loc, wide, fill.getInputs()[0]);
    Value empty = widenInit(rewriter, loc, fill.getOutputs()[0], wide);
    return linalg::FillOp::create(rewriter, loc, scalar, empty).getResult(0);
  }
  return castElements<arith::ExtUIOp>(rewriter, loc, init, wide);
}

/// Stores a sub-byte tensor that elementwise fusion could not remove (the
/// result of a reduction such as torch's `all`, read by several ops) as i8:
/// the producing `linalg.generic` or `linalg.fill` computes i8 elements
/// (`arith.extui` of its i1 values), and an elementwise `arith.trunci`
/// generic, which fusion then folds into each user, gives the users back
/// their i1 tensor.
LogicalResult widenSubByteResult(RewriterBase &rewriter, Operation *op) {
  Location loc = op->getLoc();
  Type wide = rewriter.getI8Type();
  rewriter.setInsertionPoint(op);
  Value narrow = op->getResult(0);
  Value widened;
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    widened = widenInit(rewriter, loc, narrow, wide);
    // widenInit rebuilt the fill itself as an i8 fill.
  } else if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (generic.getNumDpsInits() != 1 || !generic.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not a one-result tensor generic");
    Value init = widenInit(rewriter, loc, generic.getDpsInits()[0], wide);
    auto widenedOp = linalg::GenericOp::create(
        rewriter, loc, TypeRange{init.getType()}, generic.getDpsInputs(),
        ValueRange{init}, generic.getIndexingMapsArray(),
        generic.getIteratorTypesArray());
    rewriter.inlineRegionBefore(generic.getRegion(), widenedOp.getRegion(),
                                widenedOp.getRegion().begin());
    Block &body = widenedOp.getRegion().front();
    BlockArgument accumulator = body.getArguments().back();
    Type narrowElement = accumulator.getType();
    accumulator.setType(wide);
    rewriter.setInsertionPointToStart(&body);
    Value truncated =
        arith::TruncIOp::create(rewriter, loc, narrowElement, accumulator);
    rewriter.replaceAllUsesExcept(accumulator, truncated,
                                  truncated.getDefiningOp());
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    rewriter.setInsertionPoint(yield);
    Value extended =
        arith::ExtUIOp::create(rewriter, loc, wide, yield.getOperand(0));
    rewriter.modifyOpInPlace(yield, [&] { yield->setOperand(0, extended); });
    widened = widenedOp.getResult(0);
    rewriter.setInsertionPointAfter(widenedOp);
  } else {
    return rewriter.notifyMatchFailure(op, "not a linalg.generic or fill");
  }
  rewriter.setInsertionPointAfterValue(widened);
  Value back = castElements<arith::TruncIOp>(
      rewriter, loc, widened, getElementTypeOrSelf(narrow.getType()));
  rewriter.replaceOp(op, back);
  return success();
}

/// Fuses i1 producers into their elementwise users.
LogicalResult fuseSubByteProducers(func::FuncOp func) {
  RewritePatternSet patterns(func.getContext());
  linalg::ControlFusionFn onlySubByte = [](OpOperand *fused) {
    return isSubByteTensor(fused->get().getType());
  };
  linalg::populateElementwiseOpsFusionPatterns(patterns, onlySubByte);
  return applyPatternsGreedily(func, std::move(patterns));
}

/// The ops producing a used sub-byte tensor.
SmallVector<Operation *> subByteProducers(func::FuncOp func) {
  SmallVector<Operation *> producers;
  func.walk([&](Operation *op) {
    if (op->getNumResults() == 1 &&
        isSubByteTensor(op->getResult(0).getType()) &&
        !op->getResult(0).use_empty())
      producers.push_back(op);
  });
  return producers;
}

struct TaylorFuseSubByteTensorsPass
    : public taylor::impl::TaylorFuseSubByteTensorsBase<
          TaylorFuseSubByteTensorsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Arguments are memory the caller lays out: nothing can widen them.
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
      if (isSubByteTensor(type)) {
        func.emitOpError() << "argument " << i
                           << " is a tensor of sub-byte elements (" << type
                           << "), which the LLVM lowering cannot load; pass it "
                              "as i8 (or as a wider integer) instead";
        return signalPassFailure();
      }
    if (failed(fuseSubByteProducers(func))) {
      func.emitOpError() << "fusion of sub-byte tensors did not converge";
      return signalPassFailure();
    }
    // What fusion left (reductions, tensors with unfusable users) is stored
    // as i8; the narrowing casts fuse into the users in a second round.
    IRRewriter rewriter(&getContext());
    // Users first: a fill that only initialized a widened generic is dead
    // by the time it is visited.
    SmallVector<Operation *> producers = subByteProducers(func);
    for (Operation *op : llvm::reverse(producers))
      if (isa<linalg::GenericOp, linalg::FillOp>(op) &&
          !op->getResult(0).use_empty())
        (void)widenSubByteResult(rewriter, op);
    if (failed(fuseSubByteProducers(func))) {
      func.emitOpError() << "fusion of sub-byte tensors did not converge";
      return signalPassFailure();
    }
    // An empty tensor is only a destination: the op writing it is named.
    WalkResult result = func.walk([](Operation *op) {
      if (isa<tensor::EmptyOp>(op))
        return WalkResult::advance();
      for (Value v : op->getResults())
        if (isSubByteTensor(v.getType()) && !v.use_empty()) {
          op->emitOpError()
              << "produces a tensor of sub-byte elements (" << v.getType()
              << ") that could not be fused into its users nor stored as "
                 "bytes; such tensors cannot be stored by the LLVM lowering";
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
