//===- Passes.h - Taylor dialect passes -------------------------*- C++ -*-===//
//
// Declares the passes of taylor-mlir (the named pipelines are in
// Taylor/Pipelines/Pipelines.h).
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_TRANSFORMS_PASSES_H
#define TAYLOR_TRANSFORMS_PASSES_H

#include "Taylor/IR/TaylorDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace taylor {

/// The GEMM that `taylor-gemm-to-blas` calls (its `library` option).
enum class GemmLibrary {
  /// `taylor_rt_gemm_*`: BLAS on the host.
  CPU,
  /// `taylor_rt_cublas_gemm_*`: cuBLAS on buffers in device memory.
  CUBLAS,
};

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

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_TRANSFORMS_PASSES_H
