//===- CPUCodegen.cpp - Codegen pipeline for the CPU ----------------------===//
//
// `taylor-cpu-codegen`: taylor + linalg-on-tensors IR to the LLVM dialect, in
// the form the MLIR ExecutionEngine runs on the host CPU.
//
//===----------------------------------------------------------------------===//

#include "CodegenStages.h"

#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::taylor;

void taylor::buildCPUCodegenPipeline(OpPassManager &pm,
                                     const CPUCodegenPipelineOptions &options) {
  codegen::TensorStageOptions tensorOptions;
  tensorOptions.gemm = options.blas;
  tensorOptions.tileContractions = true;
  codegen::buildTensorStage(pm, tensorOptions);
  codegen::buildBufferStage(pm);
  // Matrix products call BLAS (after deallocation is placed: the pointers
  // passed are used at the position of the product they replace).
  if (options.blas)
    pm.addPass(createTaylorGemmToBlas());
  codegen::buildHostLLVMStage(pm);
}
