//===- GpuHostMemory.cpp - Host buffer ops on device memory ---------------===//
//
// Implements `taylor-gpu-host-memory`. Once `taylor-gpu-map-loops` has put
// every memory access of a host function on the device, the function's
// buffers can live in device memory: its allocations, deallocations and
// copies become `gpu.alloc`, `gpu.dealloc` and `gpu.memcpy`. What the host
// would still do on device memory is reported.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORGPUHOSTMEMORY
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// Whether `op` is device code: a launch, or a parallel loop mapped to the
/// GPU (which `convert-parallel-loops-to-gpu` turns into one).
bool isDeviceCode(Operation *op) {
  return isa<gpu::LaunchOp>(op) ||
         (isa<scf::ParallelOp>(op) && op->hasAttr(gpu::getMappingAttrName()));
}

/// Whether `op` (not its regions) reads or writes a buffer on the host, as
/// far as can be told: a read or write effect on a memref, or unknown
/// effects and a memref operand. Calls and `gpu` ops are the host's
/// business.
bool readsOrWritesBuffers(Operation *op) {
  if (isa<CallOpInterface>(op) ||
      isa_and_nonnull<gpu::GPUDialect>(op->getDialect()) ||
      op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
    return false;
  auto hasMemRefOperand = [&] {
    return llvm::any_of(op->getOperandTypes(), llvm::IsaPred<BaseMemRefType>);
  };
  auto interface = dyn_cast<MemoryEffectOpInterface>(op);
  if (!interface)
    return hasMemRefOperand();
  SmallVector<MemoryEffects::EffectInstance> effects;
  interface.getEffects(effects);
  return llvm::any_of(effects, [&](const MemoryEffects::EffectInstance &e) {
    if (!isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()))
      return false;
    Value value = e.getValue();
    return value ? isa<BaseMemRefType>(value.getType()) : hasMemRefOperand();
  });
}

struct TaylorGpuHostMemoryPass
    : public taylor::impl::TaylorGpuHostMemoryBase<TaylorGpuHostMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    // Host ops, device code skipped.
    SmallVector<Operation *> hostOps;
    getOperation().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isDeviceCode(op))
        return WalkResult::skip();
      hostOps.push_back(op);
      return WalkResult::advance();
    });

    // Check everything before rewriting anything.
    bool failedCheck = false;
    for (Operation *op : hostOps) {
      if (failed(check(op)))
        failedCheck = true;
    }
    if (failedCheck)
      return signalPassFailure();

    IRRewriter rewriter(&getContext());
    for (Operation *op : hostOps) {
      rewriter.setInsertionPoint(op);
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto gpuAlloc = gpu::AllocOp::create(
            rewriter, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
            /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), /*hostShared=*/false);
        rewriter.replaceOp(alloc, gpuAlloc.getMemref());
        ++numAllocs;
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, dealloc.getLoc(),
                               /*asyncToken=*/Type(),
                               /*asyncDependencies=*/ValueRange(),
                               dealloc.getMemref());
        rewriter.eraseOp(dealloc);
        ++numDeallocs;
      } else if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        gpu::MemcpyOp::create(rewriter, copy.getLoc(), /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(),
                              copy.getTarget(), copy.getSource());
        rewriter.eraseOp(copy);
        ++numCopies;
      }
    }
  }

  /// Emits an error if the host op `op` cannot work on device memory.
  LogicalResult check(Operation *op) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (!alloc.getType().getLayout().isIdentity())
        return alloc.emitOpError(
            "cannot allocate device memory: a layout is not supported");
      return success();
    }
    if (isa<memref::DeallocOp>(op))
      return success();
    if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      auto source = dyn_cast<MemRefType>(copy.getSource().getType());
      auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
      if (!source || !target || !source.getLayout().isIdentity() ||
          !target.getLayout().isIdentity())
        return copy.emitOpError(
            "cannot copy device memory on the host: an operand is not "
            "contiguous (taylor-gpu-map-loops makes such copies kernels)");
      return success();
    }
    if (isa<memref::AllocaOp>(op))
      return op->emitOpError(
          "cannot be placed in device memory: stack allocation on the host");
    if (readsOrWritesBuffers(op))
      return op->emitOpError(
          "accesses device memory on the host (taylor-gpu-map-loops places "
          "memory accesses on the device)");
    return success();
  }
};

} // namespace
