//===- GPUCodegen.cpp - Codegen pipelines for NVIDIA GPUs -----------------===//
//
// The CUDA target: `taylor-cuda-map` takes taylor + linalg-on-tensors IR (the
// input of `taylor-cpu-codegen`) to the "mapped" form, bufferized host
// functions whose computations are `gpu.launch` ops; `taylor-cuda-kernels`
// compiles that form for NVIDIA GPUs (outlined kernels serialized to PTX or
// cubins, host code calling MLIR's GPU runtime functions);
// `taylor-cuda-codegen` runs both; `taylor-cuda-emulated-codegen` runs the
// mapped form on the CPU instead.
//
//===----------------------------------------------------------------------===//

#include "CodegenStages.h"

#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::taylor;

taylor::CUDAMapOptions::CUDAMapOptions(mlir::detail::PassOptions &owner)
    : cublas(owner, "cublas",
             llvm::cl::desc(
                 "Matrix products call cuBLAS (taylor-contractions-to-gemm, "
                 "taylor-gemm-to-blas{library=cublas}); false: generated "
                 "kernels"),
             llvm::cl::init(true)),
      blockSize(owner, "block-size",
                llvm::cl::desc("Threads per block of the mapped loops "
                               "(taylor-gpu-map-loops)"),
                llvm::cl::init(256)) {}

taylor::CUDAKernelsOptions::CUDAKernelsOptions(mlir::detail::PassOptions &owner)
    : chips(owner, "chips",
            llvm::cl::desc("The NVIDIA architectures the kernels are compiled "
                           "for, one object each; the first one is loaded "
                           "(PTX JIT-compiles on newer GPUs)"),
            llvm::cl::list_init<std::string>({"sm_80", "sm_90"})),
      features(owner, "features",
               llvm::cl::desc("NVPTX target features, the PTX ISA version "
                              "(CUDA 12.0's +ptx80 covers sm_90)"),
               llvm::cl::init("+ptx80")),
      format(owner, "format",
             llvm::cl::desc("The kernels' objects: isa (PTX text), bin (cubin, "
                            "needs toolkit's ptxas) or fatbin (needs "
                            "toolkit's ptxas and fatbinary)"),
             llvm::cl::init("isa")),
      toolkit(owner, "toolkit",
              llvm::cl::desc("CUDA toolkit directory (with bin/ptxas) for "
                             "format=bin/fatbin (default: found on PATH or "
                             "CUDA_ROOT)"),
              llvm::cl::init("")),
      optLevel(owner, "opt-level",
               llvm::cl::desc("LLVM optimization level of the kernels"),
               llvm::cl::init(3)) {}

LogicalResult taylor::buildCUDAMapPipeline(
    OpPassManager &pm, const CUDAMapOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError) {
  if (options.blockSize <= 0 || options.blockSize > 1024)
    return emitError("taylor-cuda-map: block-size must be in 1..1024, got " +
                     Twine(options.blockSize.getValue()));

  // The tensor stage of the CPU pipeline, without its cache tiling.
  codegen::TensorStageOptions tensorOptions;
  tensorOptions.gemm = options.cublas;
  tensorOptions.tileContractions = false;
  codegen::buildTensorStage(pm, tensorOptions);
  // No upstream `linalg-fuse-elementwise-ops` here: on the adjoint half of a
  // split vjp program (a tanh MLP's Laplacian) it changed a weight gradient
  // (test/compile/test_gpu.py, the fused loss). Each linalg op of the jet
  // arithmetic (one per Taylor rule, already fused by taylor-lower) is one
  // kernel.
  // Reductions with few outputs (sums over the data or the directions)
  // split into a partial reduction with more threads and a final one.
  pm.addNestedPass<func::FuncOp>(createTaylorGpuSplitReductions());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Buffers, as for the CPU.
  codegen::buildBufferStage(pm);
  // Matrix products call the runtime's cuBLAS shim.
  if (options.cublas) {
    TaylorGemmToBlasOptions gemmOptions;
    gemmOptions.library = GemmLibrary::CUBLAS;
    pm.addPass(createTaylorGemmToBlas(gemmOptions));
  }

  // Linalg ops to parallel loops, parallel loops outermost (reductions run
  // sequentially in each thread).
  pm.addNestedPass<func::FuncOp>(createTaylorParallelDimsFirst());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  // Every computation on buffers to blocks and threads (strided copies
  // become kernels, other host memory accesses one-thread launches) ...
  TaylorGpuMapLoopsOptions mapOptions;
  mapOptions.blockSize = options.blockSize;
  pm.addNestedPass<func::FuncOp>(createTaylorGpuMapLoops(mapOptions));
  // ... so that every buffer can be in device memory.
  pm.addNestedPass<func::FuncOp>(createTaylorGpuHostMemory());
  // The mapped loops become gpu.launch ops.
  pm.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  return success();
}

LogicalResult taylor::buildCUDAKernelsPipeline(
    OpPassManager &pm, const CUDAKernelsOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError) {
  StringRef format = options.format;
  if (!llvm::is_contained({"isa", "bin", "fatbin"}, format))
    return emitError("taylor-cuda-kernels: format must be isa, bin or fatbin, "
                     "got '" +
                     format + "'");
  if (options.chips.empty())
    return emitError("taylor-cuda-kernels: chips must name at least one "
                     "architecture");

  // Index computations (the mapping's affine.apply) to arith; constants and
  // index computations into the launches (divisions by constant extents
  // then compile to multiplications, not to 64-bit divisions by a kernel
  // argument); then every launch into a kernel of its own gpu.module.
  pm.addPass(createLowerAffinePass());
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // Launches, allocations and copies on streams: a host op with side effects
  // (a cuBLAS call) waits for the GPU work before it.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  // One NVVM target per chip on every gpu.module (one object each, in the
  // order of `chips`).
  for (const std::string &chip : options.chips) {
    GpuNVVMAttachTargetOptions targetOptions;
    targetOptions.chip = chip;
    targetOptions.features = options.features;
    targetOptions.optLevel = options.optLevel;
    pm.addPass(createGpuNVVMAttachTarget(targetOptions));
  }

  // The kernels to the NVVM and LLVM dialects (math through libdevice).
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createStripDebugInfoPass());
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(arith::createArithExpandOpsPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  ConvertGpuOpsToNVVMOpsOptions nvvmOptions;
  nvvmOptions.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(nvvmOptions));
  kernels.addPass(LLVM::createNVVMOptimizeForTargetPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  // ... compiled: one object per target in a gpu.binary.
  GpuModuleToBinaryPassOptions binaryOptions;
  binaryOptions.compilationTarget = format.str();
  binaryOptions.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binaryOptions));

  // The host code, as for the CPU, with the GPU runtime calls.
  codegen::buildHostLLVMStage(pm, /*gpuRuntime=*/true);
  return success();
}

LogicalResult taylor::buildCUDACodegenPipeline(
    OpPassManager &pm, const CUDACodegenPipelineOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError) {
  if (failed(buildCUDAMapPipeline(pm, options.map, emitError)))
    return failure();
  return buildCUDAKernelsPipeline(pm, options.kernels, emitError);
}

LogicalResult taylor::buildCUDAEmulatedCodegenPipeline(
    OpPassManager &pm, const CUDAEmulatedCodegenPipelineOptions &options,
    function_ref<LogicalResult(const Twine &)> emitError) {
  if (failed(buildCUDAMapPipeline(pm, options.map, emitError)))
    return failure();
  // Launches as loops over the grid and the block, device memory as host
  // memory, cuBLAS as the CPU BLAS ...
  pm.addPass(createTaylorGpuLaunchToLoops());
  pm.addPass(createCanonicalizerPass());
  // ... then the CPU pipeline's lowering.
  codegen::buildHostLLVMStage(pm);
  return success();
}
