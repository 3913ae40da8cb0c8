//===- FuseSubByteTensors.cpp - Fuse away i1 tensors ----------------------===//
//
// Implements `taylor-fuse-sub-byte-tensors`.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
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

struct TaylorFuseSubByteTensorsPass
    : public taylor::impl::TaylorFuseSubByteTensorsBase<
          TaylorFuseSubByteTensorsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn onlySubByte = [](OpOperand *fused) {
      return isSubByteTensor(fused->get().getType());
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, onlySubByte);
    if (failed(applyPatternsGreedily(func, std::move(patterns)))) {
      func.emitOpError() << "fusion of sub-byte tensors did not converge";
      return signalPassFailure();
    }
    WalkResult result = func.walk([](Operation *op) {
      for (Value v : op->getResults())
        if (isSubByteTensor(v.getType()) && !v.use_empty()) {
          op->emitOpError()
              << "produces a tensor of sub-byte elements (" << v.getType()
              << ") that could not be fused into its users; such tensors "
                 "cannot be stored by the LLVM lowering";
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
