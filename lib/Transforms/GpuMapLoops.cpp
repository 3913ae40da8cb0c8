//===- GpuMapLoops.cpp - Place host loops on GPU blocks and threads -------===//
//
// Implements `taylor-gpu-map-loops`. In a bufferized host function whose
// linalg ops have become `scf.parallel` loop nests, every computation on
// buffers is prepared for `convert-parallel-loops-to-gpu`: top-level parallel
// loops are collapsed to one dimension, tiled by the block size and mapped to
// blocks and threads; any other code that touches memory is wrapped in a
// one-iteration parallel loop (a launch of one thread). Afterwards the host
// only allocates, copies, calls and launches, so its buffers can live in
// device memory (`taylor-gpu-host-memory`).
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <numeric>

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORGPUMAPLOOPS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// Whether `op` must run on the host: buffer management, calls and `gpu`
/// ops (launches, host-side memory ops).
bool isHostOnly(Operation *op) {
  if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp,
          memref::ReallocOp, memref::CopyOp, CallOpInterface>(op))
    return true;
  return isa_and_nonnull<gpu::GPUDialect>(op->getDialect());
}

/// Whether `op` itself (not the ops in its regions) reads or writes memory
/// and is not host-only: an op that must run where the buffers are.
bool accessesMemory(Operation *op) {
  if (isHostOnly(op) || op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  // Unknown effects: assume memory is accessed.
  if (!effects)
    return true;
  return !effects.hasNoEffect();
}

/// Whether `op` has the GPU mapping attribute (already placed).
bool isMapped(Operation *op) { return op->hasAttr(gpu::getMappingAttrName()); }

/// What the ops of a subtree need: whether one accesses memory, whether one
/// is a parallel loop (not yet mapped), and the first host-only op.
struct Needs {
  bool device = false;
  bool parallel = false;
  Operation *hostOnly = nullptr;
};

/// What `op` and the ops nested in it need.
Needs getNeeds(Operation *op) {
  Needs needs;
  op->walk([&](Operation *nested) {
    if (!needs.hostOnly && isHostOnly(nested))
      needs.hostOnly = nested;
    if (accessesMemory(nested))
      needs.device = true;
    if (isa<scf::ParallelOp>(nested) && !isMapped(nested))
      needs.parallel = true;
  });
  return needs;
}

/// The mapping of one loop dimension to `processor`, identity map and
/// bound.
gpu::ParallelLoopDimMappingAttr getMapping(MLIRContext *ctx,
                                           gpu::Processor processor) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity,
                                              identity);
}

struct TaylorGpuMapLoopsPass
    : public taylor::impl::TaylorGpuMapLoopsBase<TaylorGpuMapLoopsPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  LogicalResult copiesToLoops(RewriterBase &rewriter);
  LogicalResult placeBlock(RewriterBase &rewriter, Block &block);
  LogicalResult wrapSerial(RewriterBase &rewriter, ArrayRef<Operation *> run);
  LogicalResult mapParallel(RewriterBase &rewriter, scf::ParallelOp loop);
  LogicalResult sequentializeNested(RewriterBase &rewriter, Operation *root);
  LogicalResult sinkGlobals(RewriterBase &rewriter, scf::ParallelOp launch);
  void nameKernel(scf::ParallelOp launch);

  /// The launches named so far in the function.
  unsigned numKernels = 0;
};

void TaylorGpuMapLoopsPass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (func.isExternal())
    return;
  if (blockSize <= 0) {
    func.emitError() << "taylor-gpu-map-loops: block-size must be positive, "
                     << "got " << static_cast<int64_t>(blockSize);
    return signalPassFailure();
  }
  numKernels = 0;
  IRRewriter rewriter(&getContext());
  if (failed(copiesToLoops(rewriter)))
    return signalPassFailure();
  for (Block &block : func.getBody())
    if (failed(placeBlock(rewriter, block)))
      return signalPassFailure();
}

/// Whether `gpu.memcpy` can do `copy`: both operands with the identity
/// layout (contiguous from their start).
bool isMemcpy(memref::CopyOp copy) {
  auto source = dyn_cast<MemRefType>(copy.getSource().getType());
  auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
  return source && target && source.getLayout().isIdentity() &&
         target.getLayout().isIdentity();
}

/// Turns into parallel loops every `memref.copy` that `gpu.memcpy` cannot
/// do, and every copy inside an `scf.parallel` (a kernel cannot call the
/// copy).
LogicalResult TaylorGpuMapLoopsPass::copiesToLoops(RewriterBase &rewriter) {
  SmallVector<memref::CopyOp> copies;
  getOperation().walk([&](memref::CopyOp copy) {
    if (!isMemcpy(copy) || copy->getParentOfType<scf::ParallelOp>())
      copies.push_back(copy);
  });
  for (memref::CopyOp copy : copies) {
    if (!isa<MemRefType>(copy.getSource().getType()) ||
        !isa<MemRefType>(copy.getTarget().getType()))
      return copy.emitOpError("cannot be placed on the GPU: unranked operands");
    rewriter.setInsertionPoint(copy);
    auto linalgCopy = linalg::CopyOp::create(
        rewriter, copy.getLoc(), copy.getSource(), copy.getTarget());
    if (failed(linalg::linalgOpToParallelLoops(rewriter, linalgCopy)))
      return copy.emitOpError("cannot be turned into loops");
    rewriter.eraseOp(linalgCopy);
    rewriter.eraseOp(copy);
    ++numCopies;
  }
  return success();
}

/// Places the ops of the host block `block`: maps its parallel loops,
/// wraps its other memory accesses in one-thread launches, and recurses
/// into ops that must stay on the host but hold memory accesses.
LogicalResult TaylorGpuMapLoopsPass::placeBlock(RewriterBase &rewriter,
                                                Block &block) {
  SmallVector<Operation *> ops =
      llvm::map_to_vector(block, [](Operation &op) { return &op; });
  // The current run of ops for one serial launch, and the same as a set.
  SmallVector<Operation *> run;
  DenseSet<Operation *> inRun;
  auto dependsOnRun = [&](Operation *op) {
    WalkResult result = op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (!def && isa<BlockArgument>(operand))
          def = cast<BlockArgument>(operand).getOwner()->getParentOp();
        Operation *ancestor = def ? block.findAncestorOpInBlock(*def) : nullptr;
        if (ancestor && inRun.contains(ancestor))
          return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return result.wasInterrupted();
  };
  auto flush = [&]() -> LogicalResult {
    if (run.empty())
      return success();
    LogicalResult result = wrapSerial(rewriter, run);
    run.clear();
    inRun.clear();
    return result;
  };

  for (Operation *op : ops) {
    if (op->hasTrait<OpTrait::IsTerminator>() || isMapped(op)) {
      if (failed(flush()))
        return failure();
      continue;
    }
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      if (failed(flush()) || failed(mapParallel(rewriter, loop)))
        return failure();
      continue;
    }
    Needs needs = getNeeds(op);
    // A loop or conditional without results around parallel loops stays on
    // the host, so that they are mapped to threads rather than run by one.
    bool keepOnHost =
        needs.hostOnly || (needs.parallel && op->getNumResults() == 0 &&
                           op->getNumRegions() != 0 && !dependsOnRun(op));
    if (needs.device && !keepOnHost) {
      run.push_back(op);
      inRun.insert(op);
      continue;
    }
    if (!needs.device && !keepOnHost && isMemoryEffectFree(op)) {
      // A pure op goes with the run if it computes from it; otherwise it
      // stays on the host, before the launch.
      if (!run.empty() && dependsOnRun(op)) {
        run.push_back(op);
        inRun.insert(op);
      }
      continue;
    }
    // An allocation independent of the run is made before the launch.
    if (isa<memref::AllocOp>(op) && !dependsOnRun(op))
      continue;
    // Anything else ends the run (memory order).
    if (failed(flush()))
      return failure();
    if (needs.device) {
      // Host-only ops and memory accesses in the regions of an op that
      // stays on the host: place each region's ops.
      for (Region &region : op->getRegions())
        for (Block &nested : region)
          if (failed(placeBlock(rewriter, nested)))
            return failure();
    }
  }
  return flush();
}

/// Wraps the ops of `run` (consecutive in their block, apart from host ops
/// independent of them) in a one-iteration `scf.parallel` mapped to block
/// x, placed where the last of them was.
LogicalResult TaylorGpuMapLoopsPass::wrapSerial(RewriterBase &rewriter,
                                                ArrayRef<Operation *> run) {
  // Every value computed in the run must stay in it: the host cannot read
  // device memory.
  DenseSet<Operation *> inRun(run.begin(), run.end());
  Block *block = run.front()->getBlock();
  for (Operation *op : run) {
    for (OpOperand &use : op->getUses()) {
      Operation *user = block->findAncestorOpInBlock(*use.getOwner());
      if (user && inRun.contains(user))
        continue;
      InFlightDiagnostic diag =
          op->emitOpError("cannot be placed on the GPU: its result is "
                          "computed from device memory but used on the "
                          "host by '")
          << use.getOwner()->getName() << "'";
      diag.attachNote(use.getOwner()->getLoc()) << "used here";
      return failure();
    }
  }
  Operation *last = run.back();
  Location loc = run.front()->getLoc();
  rewriter.setInsertionPointAfter(last);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto launch = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
  Operation *terminator = launch.getBody()->getTerminator();
  for (Operation *op : run)
    rewriter.moveOpBefore(op, terminator);
  if (failed(sequentializeNested(rewriter, launch)) ||
      failed(sinkGlobals(rewriter, launch)))
    return failure();
  MLIRContext *ctx = &getContext();
  if (failed(gpu::setMappingAttr(launch,
                                 {getMapping(ctx, gpu::Processor::BlockX)})))
    return launch.emitOpError("invalid GPU mapping");
  nameKernel(launch);
  ++numSerial;
  return success();
}

/// Collapses the top-level `loop` to one dimension, tiles it by the block
/// size and maps the tiles to blocks and their iterations to threads.
LogicalResult TaylorGpuMapLoopsPass::mapParallel(RewriterBase &rewriter,
                                                 scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError("cannot be mapped to the GPU: reductions "
                            "(results) are not supported");
  if (Operation *hostOnly = getNeeds(loop).hostOnly) {
    InFlightDiagnostic diag = loop.emitOpError()
                              << "cannot be mapped to the GPU: it contains '"
                              << hostOnly->getName()
                              << "', which runs on the host";
    diag.attachNote(hostOnly->getLoc()) << "host op here";
    return failure();
  }
  if (failed(sequentializeNested(rewriter, loop)))
    return failure();
  if (loop.getNumLoops() == 0) {
    // No iteration space: one thread.
    return wrapSerial(rewriter, {loop.getOperation()});
  }

  // The number of iterations, if static.
  std::optional<int64_t> tripCount;
  int64_t count = 1;
  bool isStatic = true;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> lb = getConstantIntValue(lower);
    std::optional<int64_t> ub = getConstantIntValue(upper);
    std::optional<int64_t> st = getConstantIntValue(step);
    if (!lb || !ub || !st || *st <= 0) {
      isStatic = false;
      break;
    }
    count *= *ub > *lb ? llvm::divideCeil(*ub - *lb, *st) : 0;
  }
  if (isStatic)
    tripCount = count;
  if (tripCount && *tripCount == 0) {
    rewriter.eraseOp(loop);
    return success();
  }

  // One dimension (the last one varies fastest: consecutive threads touch
  // consecutive elements of row-major buffers), from 0 with step 1.
  if (loop.getNumLoops() > 1) {
    Operation *next = loop->getNextNode();
    std::vector<unsigned> dims(loop.getNumLoops());
    std::iota(dims.begin(), dims.end(), 0u);
    collapseParallelLoops(rewriter, loop, {dims});
    loop = cast<scf::ParallelOp>(next->getPrevNode());
    if (tripCount) {
      // The product of the static extents, folded.
      rewriter.setInsertionPoint(loop);
      Value count =
          arith::ConstantIndexOp::create(rewriter, loop.getLoc(), *tripCount);
      rewriter.modifyOpInPlace(
          loop, [&] { loop.getUpperBoundMutable()[0].assign(count); });
    }
  }
  Location loc = loop.getLoc();

  // Threads per block: the block size, or the whole loop if it is smaller.
  int64_t threads = blockSize;
  if (tripCount && *tripCount < threads)
    threads = *tripCount;

  // A dynamic trip count may be zero: no launch then (a grid of zero blocks
  // is an error).
  if (!tripCount) {
    rewriter.setInsertionPoint(loop);
    Value nonEmpty =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt,
                              loop.getLowerBound()[0], loop.getUpperBound()[0]);
    auto guard = scf::IfOp::create(rewriter, loc, nonEmpty,
                                   /*withElseRegion=*/false);
    rewriter.moveOpBefore(loop, guard.thenBlock()->getTerminator());
  }

  auto [blocks, threadLoop] =
      scf::tileParallelLoop(loop, {threads}, /*noMinMaxBounds=*/true);
  MLIRContext *ctx = &getContext();
  if (failed(gpu::setMappingAttr(blocks,
                                 {getMapping(ctx, gpu::Processor::BlockX)})) ||
      failed(gpu::setMappingAttr(threadLoop,
                                 {getMapping(ctx, gpu::Processor::ThreadX)})))
    return blocks.emitOpError("invalid GPU mapping");
  if (failed(sinkGlobals(rewriter, blocks)))
    return failure();
  nameKernel(blocks);
  ++numMapped;
  return success();
}

/// Names the kernel that `launch` (an outermost mapped loop) becomes: its
/// `gpu.module` and function, as the `gpu.launch` attributes that
/// `convert-parallel-loops-to-gpu` copies from the loop.
void TaylorGpuMapLoopsPass::nameKernel(scf::ParallelOp launch) {
  if (kernelModule.empty())
    return;
  MLIRContext *ctx = &getContext();
  OperationName launchName(gpu::LaunchOp::getOperationName(), ctx);
  launch->setAttr(gpu::LaunchOp::getModuleAttrName(launchName),
                  FlatSymbolRefAttr::get(ctx, kernelModule));
  std::string function =
      (getOperation().getName() + "_kernel_" + Twine(numKernels++)).str();
  launch->setAttr(gpu::LaunchOp::getFunctionAttrName(launchName),
                  FlatSymbolRefAttr::get(ctx, function));
}

/// Turns every `scf.parallel` nested in `root` (not `root` itself) into an
/// `scf.for` nest: each GPU thread runs them.
LogicalResult TaylorGpuMapLoopsPass::sequentializeNested(RewriterBase &rewriter,
                                                         Operation *root) {
  SmallVector<scf::ParallelOp> nested;
  root->walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
    if (loop != root)
      nested.push_back(loop);
  });
  for (scf::ParallelOp loop : nested) {
    if (loop.getNumResults() != 0)
      return loop.emitOpError("cannot be placed on the GPU: reductions "
                              "(results) are not supported");
    rewriter.setInsertionPoint(loop);
    scf::LoopNest nest =
        scf::buildLoopNest(rewriter, loop.getLoc(), loop.getLowerBound(),
                           loop.getUpperBound(), loop.getStep());
    SmallVector<Value> ivs = llvm::map_to_vector(
        nest.loops, [](scf::ForOp forOp) { return forOp.getInductionVar(); });
    Operation *insertBefore =
        nest.loops.empty() ? loop.getOperation()
                           : nest.loops.back().getBody()->getTerminator();
    rewriter.eraseOp(loop.getBody()->getTerminator());
    rewriter.inlineBlockBefore(loop.getBody(), insertBefore, ivs);
    rewriter.eraseOp(loop);
  }
  return success();
}

/// Re-creates inside `launch` the `memref.get_global` values defined
/// outside it that it uses: the kernel then reads the global of its own
/// module, not a host address.
LogicalResult TaylorGpuMapLoopsPass::sinkGlobals(RewriterBase &rewriter,
                                                 scf::ParallelOp launch) {
  DenseMap<Value, Value> sunk;
  Region &body = launch.getRegion();
  SmallVector<OpOperand *> uses;
  launch.walk([&](Operation *op) {
    for (OpOperand &operand : op->getOpOperands())
      if (auto global = operand.get().getDefiningOp<memref::GetGlobalOp>())
        if (!body.isAncestor(global->getParentRegion()))
          uses.push_back(&operand);
  });
  for (OpOperand *use : uses) {
    auto global = use->get().getDefiningOp<memref::GetGlobalOp>();
    auto symbol = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
        global, global.getNameAttr());
    if (!symbol || !symbol.getConstant())
      return global.emitOpError(
          "cannot be used on the GPU: only constant globals can be");
    Value &clone = sunk[global.getResult()];
    if (!clone) {
      rewriter.setInsertionPointToStart(launch.getBody());
      clone = rewriter.clone(*global)->getResult(0);
    }
    rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(clone); });
  }
  return success();
}

} // namespace
