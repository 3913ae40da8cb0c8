//===- Passes.h - Taylor dialect passes -------------------------*- C++ -*-===//
//
// Declares the passes and named pipelines of taylor-mlir.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_TRANSFORMS_PASSES_H
#define TAYLOR_TRANSFORMS_PASSES_H

#include "Taylor/IR/TaylorDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace taylor {

#define GEN_PASS_DECL
#include "Taylor/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Taylor/Transforms/Passes.h.inc"

/// What `lowerTaylorOps` expanded.
struct TaylorLowerCounts {
  unsigned propagates = 0;
  unsigned sums = 0;
};

/// The `taylor-lower` transformation of one function: expands every
/// `taylor.propagate` (standard or collapsed) and `taylor.sum`, and reports
/// the taylor ops that cannot be lowered. Emits a diagnostic on failure.
LogicalResult lowerTaylorOps(func::FuncOp func,
                             TaylorLowerCounts *counts = nullptr);

/// Options of the `taylor-to-llvm` pipeline.
struct TaylorToLLVMPipelineOptions
    : public PassPipelineOptions<TaylorToLLVMPipelineOptions> {
  PassOptions::Option<bool> blas{
      *this, "blas",
      llvm::cl::desc("Matrix products call BLAS (taylor-contractions-to-gemm, "
                     "taylor-gemm-to-blas); false: generated loops"),
      llvm::cl::init(true)};
};

/// Appends the passes that take taylor + linalg-on-tensors IR to the LLVM
/// dialect, ready for the ExecutionEngine.
void buildTaylorToLLVMPipeline(OpPassManager &pm,
                               const TaylorToLLVMPipelineOptions &options);

/// Registers the named pipelines (`taylor-to-llvm`).
void registerTaylorPipelines();

/// Registers all passes and pipelines of taylor-mlir.
inline void registerAllTaylorPasses() {
  registerTaylorPasses();
  registerTaylorPipelines();
}

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_TRANSFORMS_PASSES_H
