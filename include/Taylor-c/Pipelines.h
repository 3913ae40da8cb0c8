//===- Pipelines.h - C API of the named pipelines -----------------*- C -*-===//
//
// The named pipelines of taylor-mlir (and any registered pass or pipeline),
// added to a pass manager by name, so that Python runs exactly what
// `taylor-opt --pass-pipeline='builtin.module(NAME{options})'` runs.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_C_PIPELINES_H
#define TAYLOR_C_PIPELINES_H

#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Appends the registered pipeline (or pass) `name` with the textual options
/// `options` (`key=value ...`, without braces) to `passManager`. A pass
/// anchored on nested operations (e.g. `func.func`) is nested implicitly. On
/// failure, calls `errorCallback` with the reason and returns failure.
MLIR_CAPI_EXPORTED MlirLogicalResult mlirTaylorAddRegisteredPipeline(
    MlirOpPassManager passManager, MlirStringRef name, MlirStringRef options,
    MlirStringCallback errorCallback, void *userData);

/// Whether `name` is a registered pipeline (false for a pass or unknown).
MLIR_CAPI_EXPORTED bool mlirTaylorIsRegisteredPipeline(MlirStringRef name);

/// Called once per option of a pipeline: its name and help.
typedef void (*MlirTaylorPipelineOptionCallback)(MlirStringRef name,
                                                 MlirStringRef help,
                                                 void *userData);

/// Calls `pipelineCallback(name, description, defaults, userData)` for every
/// named pipeline of taylor-mlir, then `optionCallback` for each of its
/// options. `defaults` is `{name=value ...}`.
MLIR_CAPI_EXPORTED void mlirTaylorWalkPipelines(
    void (*pipelineCallback)(MlirStringRef name, MlirStringRef description,
                             MlirStringRef defaults, void *userData),
    MlirTaylorPipelineOptionCallback optionCallback, void *userData);

/// The registered name of the codegen pipeline of the target `target`
/// ("cpu"); an empty string for an unknown target.
MLIR_CAPI_EXPORTED MlirStringRef
mlirTaylorGetCodegenPipelineName(MlirStringRef target);

/// Calls `callback` with the name of every target.
MLIR_CAPI_EXPORTED void mlirTaylorWalkTargets(MlirStringCallback callback,
                                              void *userData);

#ifdef __cplusplus
}
#endif

#endif // TAYLOR_C_PIPELINES_H
