//===- Pipelines.h - Named pass pipelines of taylor-mlir --------*- C++ -*-===//
//
// The pass pipelines of taylor-mlir, each declared once here and registered by
// name, so that `taylor-opt --pass-pipeline='builtin.module(NAME{opts})'` and
// the Python package run exactly the same passes.
//
// Layering: IR -> Rules -> Transforms (passes) -> Pipelines -> CAPI, tools and
// Python. Target codegen pipelines live one per file (CPUCodegen.cpp; a
// GPUCodegen.cpp would sit beside it).
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_PIPELINES_PIPELINES_H
#define TAYLOR_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
namespace taylor {

/// Options of the CPU codegen pipeline (`taylor-cpu-codegen`).
struct CPUCodegenPipelineOptions
    : public PassPipelineOptions<CPUCodegenPipelineOptions> {
  PassOptions::Option<bool> blas{
      *this, "blas",
      llvm::cl::desc("Matrix products call BLAS (taylor-contractions-to-gemm, "
                     "taylor-gemm-to-blas); false: generated loops"),
      llvm::cl::init(true)};
};

/// Appends the passes that take taylor + linalg-on-tensors IR to the LLVM
/// dialect for the CPU, ready for the ExecutionEngine.
void buildCPUCodegenPipeline(OpPassManager &pm,
                             const CPUCodegenPipelineOptions &options);

/// Registers the named pipelines of taylor-mlir.
void registerTaylorPipelines();

/// Registers all passes and pipelines of taylor-mlir.
void registerAllTaylorPasses();

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_PIPELINES_PIPELINES_H
