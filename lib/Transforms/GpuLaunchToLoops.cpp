//===- GpuLaunchToLoops.cpp - Emulate mapped GPU programs on the CPU ------===//
//
// Implements `taylor-gpu-launch-to-loops`. The CUDA pipelines map the tiled
// loops of a program onto `gpu.launch` ops in bufferized host functions (the
// "mapped" form). This pass turns that form back into a CPU program that
// runs the same tiling and thread mapping: each launch becomes an
// `scf.parallel` over the grid holding an `scf.parallel` over the block,
// with the kernel body inlined and its block and thread ids replaced by the
// loop indices. The host-side buffer ops become their memref counterparts
// and cuBLAS calls become calls of the CPU BLAS shim, so the result lowers
// with the CPU tail of `taylor-to-llvm` and its numbers can be compared with
// the CPU pipeline's before a GPU runs the program.
//
// The loops run every thread exactly once, in some order. That is the
// meaning of the GPU program only if threads do not communicate: what would
// let them (barriers, shared memory, subgroup ops) is refused with an error,
// as are async tokens and already outlined kernels.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORGPULAUNCHTOLOOPS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

constexpr StringLiteral kCublasGemmPrefix = "taylor_rt_cublas_gemm_";
constexpr StringLiteral kCpuGemmPrefix = "taylor_rt_gemm_";

/// Whether `type` is a memref in shared (workgroup) memory.
bool isSharedMemory(Type type) {
  auto memref = dyn_cast<BaseMemRefType>(type);
  if (!memref)
    return false;
  Attribute space = memref.getMemorySpace();
  if (auto number = dyn_cast_or_null<IntegerAttr>(space))
    return number.getInt() == 3; // NVVM's shared memory.
  return gpu::GPUDialect::isWorkgroupMemoryAddressSpace(space);
}

/// Whether `op` is a `gpu` op that makes threads exchange values or depend
/// on the hardware's grouping of threads into subgroups.
bool isCrossThreadOp(Operation *op) {
  return isa<gpu::ShuffleOp, gpu::RotateOp, gpu::SubgroupReduceOp,
             gpu::AllReduceOp, gpu::LaneIdOp, gpu::SubgroupIdOp,
             gpu::NumSubgroupsOp, gpu::SubgroupSizeOp,
             gpu::SubgroupMmaLoadMatrixOp, gpu::SubgroupMmaStoreMatrixOp,
             gpu::SubgroupMmaComputeOp, gpu::SubgroupMmaConstantMatrixOp,
             gpu::SubgroupMmaElementwiseOp,
             gpu::SubgroupMmaExtractThreadLocalOp,
             gpu::SubgroupMmaInsertThreadLocalOp>(op);
}

/// Emits an error on `op` if the loops cannot emulate it faithfully (the op
/// itself; nested ops are checked separately).
LogicalResult checkEmulable(Operation *op) {
  if (auto async = dyn_cast<gpu::AsyncOpInterface>(op)) {
    if (!async.getAsyncDependencies().empty() || async.getAsyncToken())
      return op->emitOpError(
          "cannot be emulated on the CPU: async tokens and dependencies are "
          "not supported (the mapped form is synchronous)");
  }
  if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
    if (launch.getNumWorkgroupAttributions() != 0)
      return op->emitOpError("cannot be emulated on the CPU: workgroup "
                             "attributions (shared memory) are not supported");
    if (launch.getDynamicSharedMemorySize())
      return op->emitOpError("cannot be emulated on the CPU: dynamic shared "
                             "memory is not supported");
    if (launch.getNumPrivateAttributions() != 0)
      return op->emitOpError("cannot be emulated on the CPU: private "
                             "attributions are not supported");
    if (launch.hasClusterSize())
      return op->emitOpError("cannot be emulated on the CPU: thread-block "
                             "clusters are not supported");
    return success();
  }
  if (isa<gpu::BlockIdOp, gpu::ThreadIdOp, gpu::BlockDimOp, gpu::GridDimOp,
          gpu::GlobalIdOp>(op)) {
    if (!op->getParentOfType<gpu::LaunchOp>())
      return op->emitOpError("cannot be emulated on the CPU: used outside a "
                             "gpu.launch");
    return success();
  }
  if (isa<gpu::TerminatorOp, gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp,
          gpu::MemsetOp, gpu::WaitOp>(op))
    return success();
  if (isa<gpu::BarrierOp>(op))
    return op->emitOpError(
        "cannot be emulated on the CPU: the loop iterations that stand for "
        "the threads of a block do not synchronize");
  if (isa<gpu::LaunchFuncOp, gpu::GPUModuleOp, gpu::BinaryOp>(op))
    return op->emitOpError(
        "cannot be emulated on the CPU: the kernel is already outlined (run "
        "the pass on the mapped form, with gpu.launch)");
  if (isa<gpu::DynamicSharedMemoryOp>(op))
    return op->emitOpError(
        "cannot be emulated on the CPU: shared memory is not supported");
  if (isCrossThreadOp(op))
    return op->emitOpError(
        "cannot be emulated on the CPU: threads exchange values or depend on "
        "subgroups");
  if (isa<gpu::GPUDialect>(op->getDialect()))
    return op->emitOpError("cannot be emulated on the CPU: no emulation of "
                           "this gpu op");

  auto isShared = [](Value v) { return isSharedMemory(v.getType()); };
  if (llvm::any_of(op->getResults(), isShared))
    return op->emitOpError("cannot be emulated on the CPU: defines a memref "
                           "in shared (workgroup) memory");
  for (Region &region : op->getRegions())
    if (!region.empty() && llvm::any_of(region.getArguments(), isShared))
      return op->emitOpError("cannot be emulated on the CPU: has a region "
                             "argument in shared (workgroup) memory");
  return success();
}

/// `taylor_rt_gemm_<suffix>` for `taylor_rt_cublas_gemm_<suffix>`, or "".
std::string getCpuGemmName(StringRef callee) {
  if (!callee.consume_front(kCublasGemmPrefix))
    return "";
  return (kCpuGemmPrefix + callee).str();
}

struct TaylorGpuLaunchToLoopsPass
    : public taylor::impl::TaylorGpuLaunchToLoopsBase<
          TaylorGpuLaunchToLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Check everything first: a refused program is left as it was.
    bool emulable = true;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (succeeded(checkEmulable(op)))
        return WalkResult::advance();
      emulable = false;
      return WalkResult::skip();
    });
    if (!emulable || failed(checkGemmCalls()))
      return signalPassFailure();

    IRRewriter rewriter(&getContext());
    SmallVector<gpu::LaunchOp> launches;
    SmallVector<Operation *> hostOps;
    module.walk([&](Operation *op) {
      if (auto launch = dyn_cast<gpu::LaunchOp>(op))
        launches.push_back(launch);
      else if (isa<gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp, gpu::MemsetOp,
                   gpu::WaitOp>(op))
        hostOps.push_back(op);
    });
    for (gpu::LaunchOp launch : launches)
      convertLaunch(rewriter, launch);
    for (Operation *op : hostOps)
      convertHostOp(rewriter, op);
    redirectGemmCalls(rewriter);
  }

  /// Replaces `launch` by the grid and block loops with its body inlined.
  void convertLaunch(RewriterBase &rewriter, gpu::LaunchOp launch) {
    Location loc = launch.getLoc();
    rewriter.setInsertionPoint(launch);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    SmallVector<Value> lowerBounds(3, zero), steps(3, one);
    auto blockLoop = scf::ParallelOp::create(
        rewriter, loc, lowerBounds, ValueRange{grid.x, grid.y, grid.z}, steps);
    rewriter.setInsertionPointToStart(blockLoop.getBody());
    auto threadLoop =
        scf::ParallelOp::create(rewriter, loc, lowerBounds,
                                ValueRange{block.x, block.y, block.z}, steps);
    SmallVector<Value> blockIds(blockLoop.getInductionVars());
    SmallVector<Value> threadIds(threadLoop.getInductionVars());

    // The body's arguments: block ids, thread ids, grid size, block size
    // (no attributions: checked).
    SmallVector<Value> arguments = {blockIds[0],  blockIds[1],  blockIds[2],
                                    threadIds[0], threadIds[1], threadIds[2],
                                    grid.x,       grid.y,       grid.z,
                                    block.x,      block.y,      block.z};
    Region &body = launch.getBody();
    Operation *threadTerminator = threadLoop.getBody()->getTerminator();
    if (body.hasOneBlock()) {
      Block *entry = &body.front();
      Operation *terminator = entry->getTerminator();
      rewriter.inlineBlockBefore(entry, threadTerminator, arguments);
      rewriter.eraseOp(terminator);
    } else {
      // scf.parallel bodies have one block: the CFG goes into an
      // scf.execute_region.
      rewriter.setInsertionPoint(threadTerminator);
      auto region = scf::ExecuteRegionOp::create(rewriter, loc, TypeRange{});
      Block *entry = &body.front();
      for (auto [argument, value] :
           llvm::zip_equal(entry->getArguments(), arguments))
        rewriter.replaceAllUsesWith(argument, value);
      entry->eraseArguments(0, entry->getNumArguments());
      rewriter.inlineRegionBefore(body, region.getRegion(),
                                  region.getRegion().end());
      for (Block &b : region.getRegion()) {
        if (auto terminator = dyn_cast<gpu::TerminatorOp>(b.getTerminator())) {
          rewriter.setInsertionPoint(terminator);
          rewriter.replaceOpWithNewOp<scf::YieldOp>(terminator);
        }
      }
    }

    // The id ops of the body read the same values.
    SmallVector<Operation *> idOps;
    threadLoop.walk([&](Operation *op) {
      if (isa<gpu::BlockIdOp, gpu::ThreadIdOp, gpu::BlockDimOp, gpu::GridDimOp,
              gpu::GlobalIdOp>(op))
        idOps.push_back(op);
    });
    auto index = [](gpu::Dimension dim) { return static_cast<unsigned>(dim); };
    Value gridSizes[] = {grid.x, grid.y, grid.z};
    Value blockSizes[] = {block.x, block.y, block.z};
    for (Operation *op : idOps) {
      rewriter.setInsertionPoint(op);
      Value value = TypeSwitch<Operation *, Value>(op)
                        .Case([&](gpu::BlockIdOp id) {
                          return blockIds[index(id.getDimension())];
                        })
                        .Case([&](gpu::ThreadIdOp id) {
                          return threadIds[index(id.getDimension())];
                        })
                        .Case([&](gpu::GridDimOp id) {
                          return gridSizes[index(id.getDimension())];
                        })
                        .Case([&](gpu::BlockDimOp id) {
                          return blockSizes[index(id.getDimension())];
                        })
                        .Case([&](gpu::GlobalIdOp id) -> Value {
                          // global id = block id * block size + thread id.
                          unsigned i = index(id.getDimension());
                          Value offset =
                              arith::MulIOp::create(rewriter, id.getLoc(),
                                                    blockIds[i], blockSizes[i]);
                          return arith::AddIOp::create(rewriter, id.getLoc(),
                                                       offset, threadIds[i]);
                        });
      rewriter.replaceOp(op, value);
    }
    rewriter.eraseOp(launch);
    ++numLaunches;
  }

  /// Replaces a host-side `gpu` buffer op by its memref counterpart.
  void convertHostOp(RewriterBase &rewriter, Operation *op) {
    rewriter.setInsertionPoint(op);
    Location loc = op->getLoc();
    if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
      rewriter.replaceOpWithNewOp<memref::AllocOp>(alloc, alloc.getType(),
                                                   alloc.getDynamicSizes(),
                                                   alloc.getSymbolOperands());
    } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
      memref::DeallocOp::create(rewriter, loc, dealloc.getMemref());
      rewriter.eraseOp(dealloc);
    } else if (auto copy = dyn_cast<gpu::MemcpyOp>(op)) {
      memref::CopyOp::create(rewriter, loc, copy.getSrc(), copy.getDst());
      rewriter.eraseOp(copy);
    } else if (auto memset = dyn_cast<gpu::MemsetOp>(op)) {
      linalg::FillOp::create(rewriter, loc, ValueRange{memset.getValue()},
                             ValueRange{memset.getDst()});
      rewriter.eraseOp(memset);
    } else {
      rewriter.eraseOp(op); // A synchronous gpu.wait: nothing to wait for.
    }
    ++numHostOps;
  }

  /// Checks that each cuBLAS GEMM callee has a CPU counterpart of the same
  /// type, or a free name for one.
  LogicalResult checkGemmCalls() {
    ModuleOp module = getOperation();
    WalkResult result = module.walk([&](func::CallOp call) {
      std::string name = getCpuGemmName(call.getCallee());
      if (name.empty())
        return WalkResult::advance();
      Operation *existing = module.lookupSymbol(name);
      if (!existing)
        return WalkResult::advance();
      auto func = dyn_cast<func::FuncOp>(existing);
      if (func && func.getFunctionType() == call.getCalleeType())
        return WalkResult::advance();
      call.emitOpError("cannot be redirected to @")
          << name << ": that symbol exists with another type";
      return WalkResult::interrupt();
    });
    return failure(result.wasInterrupted());
  }

  /// Calls of `taylor_rt_cublas_gemm_*` call `taylor_rt_gemm_*` instead;
  /// the cuBLAS declarations go once unused.
  void redirectGemmCalls(RewriterBase &rewriter) {
    ModuleOp module = getOperation();
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      if (!getCpuGemmName(call.getCallee()).empty())
        calls.push_back(call);
    });
    SetVector<StringRef> cublasNames;
    for (func::CallOp call : calls) {
      cublasNames.insert(call.getCallee());
      func::FuncOp callee = declareCpuGemm(
          rewriter, getCpuGemmName(call.getCallee()), call.getCalleeType());
      rewriter.modifyOpInPlace(call, [&] {
        call.setCalleeAttr(FlatSymbolRefAttr::get(callee.getSymNameAttr()));
      });
      ++numGemmCalls;
    }
    for (StringRef name : cublasNames) {
      auto decl = module.lookupSymbol<func::FuncOp>(name);
      if (decl && decl.isDeclaration() &&
          SymbolTable::symbolKnownUseEmpty(decl, module))
        rewriter.eraseOp(decl);
    }
  }

  /// `func.func private @<name>` of `type` with the C interface (memref
  /// descriptors by pointer, as lib/Runtime implements the shim), declared
  /// once.
  func::FuncOp declareCpuGemm(RewriterBase &rewriter, StringRef name,
                              FunctionType type) {
    ModuleOp module = getOperation();
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    auto func = func::FuncOp::create(rewriter, module.getLoc(), name, type);
    func.setPrivate();
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  rewriter.getUnitAttr());
    return func;
  }
};

} // namespace
