//===- CodegenStages.cpp - Stages shared by the codegen pipelines ---------===//
//
// The tensor stage, the buffer stage and the host lowering to the LLVM
// dialect (CodegenStages.h), which the CPU and GPU codegen pipelines share.
//
//===----------------------------------------------------------------------===//

#include "CodegenStages.h"

#include "Taylor/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::taylor;

void codegen::buildTensorStage(OpPassManager &pm,
                               const TensorStageOptions &options) {
  // Jets become coefficient tensors; taylor.sum becomes a linalg reduction.
  pm.addNestedPass<func::FuncOp>(createTaylorLower());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Products with identity seeds are slices of the other operand.
  pm.addNestedPass<func::FuncOp>(createTaylorFoldUnitDirections());
  pm.addPass(createCanonicalizerPass());
  // The primal function and its derivatives once, not once per direction.
  pm.addNestedPass<func::FuncOp>(createTaylorHoistDirectionInvariants());
  pm.addPass(createCSEPass());
  // No i1 tensor may reach memory (masks are fused into their users).
  pm.addNestedPass<func::FuncOp>(createTaylorFuseSubByteTensors());
  // Zero fills merged by CSE would be copied once per extra destination.
  pm.addNestedPass<func::FuncOp>(createTaylorUnshareFills());
  // Contractions that are matrix products become GEMM calls (later) ...
  if (options.gemm)
    pm.addNestedPass<func::FuncOp>(createTaylorContractionsToGemm());
  // ... the others: rows blocked so that the weights are reused from cache.
  // (With a GEMM library, the f32/f64 matmuls are left to it.)
  if (options.tileContractions) {
    TaylorTileContractionsOptions tileOptions;
    tileOptions.skipMatmuls = options.gemm;
    pm.addNestedPass<func::FuncOp>(createTaylorTileContractions(tileOptions));
  }
  pm.addPass(createCanonicalizerPass());
  // Matrix inverses and factorizations become loops on tensors.
  pm.addNestedPass<func::FuncOp>(createTaylorLowerMatrixOps());
}

void codegen::buildBufferStage(OpPassManager &pm) {
  // Tensors to buffers. Function arguments and results become plain
  // (identity-layout) memrefs, so callers can pass contiguous arrays.
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));

  // Results are written into caller-allocated buffers (out-parameters
  // appended after the inputs): no allocation crosses the boundary. (Hoisting
  // the result allocations into the out-parameters is off: MLIR 22 crashes on
  // a function that returns one buffer twice.)
  bufferization::BufferResultsToOutParamsPassOptions outParamsOptions;
  outParamsOptions.hoistStaticAllocs = false;
  outParamsOptions.modifyPublicFunctions = true;
  pm.addPass(
      bufferization::createBufferResultsToOutParamsPass(outParamsOptions));
  // Every intermediate buffer is freed (ownership-based deallocation).
  bufferization::BufferDeallocationPipelineOptions deallocOptions;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOptions);
  pm.addPass(createCanonicalizerPass());
  // ... as soon as it is dead, not at the end of the function.
  pm.addNestedPass<func::FuncOp>(createTaylorEarlyDealloc());
}

void codegen::buildHostLLVMStage(OpPassManager &pm, bool gpuRuntime) {
  // Structured ops to loops, loops to branches.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());

  // Scalar math: LLVM intrinsics where they exist, libm otherwise (tanh).
  pm.addNestedPass<func::FuncOp>(arith::createArithExpandOpsPass());
  pm.addNestedPass<func::FuncOp>(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());

  // Everything else to the LLVM dialect.
  pm.addPass(memref::createExpandStridedMetadataPass());
  // Subview offsets (tiles) become affine.apply: lower them too.
  pm.addPass(createLowerAffinePass());
  // Allocations call MLIR's generic allocation functions, which the native
  // runtime (libTaylorRuntime: include/Taylor/Runtime) serves from its
  // buffer pools.
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addNestedPass<func::FuncOp>(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  // Launches, device memory and streams call MLIR's GPU runtime functions
  // (mgpu*).
  if (gpuRuntime)
    pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
