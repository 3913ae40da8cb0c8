//===- CodegenStages.h - Stages shared by the codegen pipelines -*- C++ -*-===//
//
// The pieces that the codegen pipelines of the targets have in common: the
// tensor-level preparation of the lowered program, its bufferization, and
// the lowering of host code to the LLVM dialect. Private to lib/Pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_LIB_PIPELINES_CODEGENSTAGES_H
#define TAYLOR_LIB_PIPELINES_CODEGENSTAGES_H

#include "mlir/Pass/PassManager.h"

namespace mlir {
namespace taylor {
namespace codegen {

/// What the tensor stage does beside the common steps.
struct TensorStageOptions {
  /// Contractions that are matrix products become `linalg.matmul`s
  /// (`taylor-contractions-to-gemm`), for a GEMM library.
  bool gemm = true;
  /// The other contractions are tiled for the CPU's caches
  /// (`taylor-tile-contractions`; with `gemm`, the matmuls are left to the
  /// library).
  bool tileContractions = true;
};

/// Appends the tensor stage: `taylor-lower` and the jet-level clean-ups,
/// the contractions, and the matrix ops as loops on tensors.
void buildTensorStage(OpPassManager &pm, const TensorStageOptions &options);

/// Appends the buffer stage: one-shot bufferization with identity-layout
/// function boundaries, results as caller-allocated out-parameters,
/// ownership-based deallocation and early deallocation.
void buildBufferStage(OpPassManager &pm);

/// Appends the lowering of host code (loops, memrefs, math, functions) to
/// the LLVM dialect, with allocations through MLIR's generic allocation
/// functions. With `gpuRuntime`, the host-side `gpu` ops become calls of
/// MLIR's GPU runtime functions (`gpu-to-llvm`) too.
void buildHostLLVMStage(OpPassManager &pm, bool gpuRuntime = false);

} // namespace codegen
} // namespace taylor
} // namespace mlir

#endif // TAYLOR_LIB_PIPELINES_CODEGENSTAGES_H
