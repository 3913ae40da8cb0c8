//===- Pipelines.cpp - Registration of the named pipelines ----------------===//
//
// Every named pipeline of taylor-mlir is registered here, once.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Pipelines/Pipelines.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void taylor::registerTaylorPipelines() {
  PassPipelineRegistration<CPUCodegenPipelineOptions>(
      "taylor-cpu-codegen",
      "Lower taylor and linalg-on-tensors IR to the LLVM dialect for the "
      "ExecutionEngine on the CPU (results become caller-allocated "
      "out-parameters)",
      buildCPUCodegenPipeline);
  // The name used before targets existed: the same pipeline.
  PassPipelineRegistration<CPUCodegenPipelineOptions>(
      "taylor-to-llvm", "Alias of taylor-cpu-codegen", buildCPUCodegenPipeline);
}

void taylor::registerAllTaylorPasses() {
  registerTaylorPasses();
  registerTaylorPipelines();
}
