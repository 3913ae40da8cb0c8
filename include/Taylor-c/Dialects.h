//===- Dialects.h - C API of the taylor dialect -------------------*- C -*-===//
//
// C API of the `taylor` dialect, its types and passes, used by the
// `taylor_mlir` Python bindings.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_C_DIALECTS_H
#define TAYLOR_C_DIALECTS_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Taylor, taylor);

/// Adds the taylor dialect and the Taylor-mode rules of upstream ops (external
/// interface models) to `registry`.
MLIR_CAPI_EXPORTED void
mlirTaylorRegisterDialectAndRules(MlirDialectRegistry registry);

/// Registers the passes and named pipelines of taylor-mlir in the global
/// registry (idempotent).
MLIR_CAPI_EXPORTED void mlirTaylorRegisterPasses(void);

/// Whether `type` is a `!taylor.jet`.
MLIR_CAPI_EXPORTED bool mlirTypeIsATaylorJetType(MlirType type);

/// TypeID of `!taylor.jet`.
MLIR_CAPI_EXPORTED MlirTypeID mlirTaylorJetTypeGetTypeID(void);

/// Returns `!taylor.jet<order, directions, valueType[, collapsed]>`, or a null
/// type after emitting a diagnostic at `loc` if the parameters are invalid.
MLIR_CAPI_EXPORTED MlirType mlirTaylorJetTypeGetChecked(MlirLocation loc,
                                                        unsigned order,
                                                        unsigned directions,
                                                        MlirType valueType,
                                                        bool collapsed);

MLIR_CAPI_EXPORTED unsigned mlirTaylorJetTypeGetOrder(MlirType type);
MLIR_CAPI_EXPORTED unsigned mlirTaylorJetTypeGetDirections(MlirType type);
MLIR_CAPI_EXPORTED MlirType mlirTaylorJetTypeGetValueType(MlirType type);
MLIR_CAPI_EXPORTED bool mlirTaylorJetTypeIsCollapsed(MlirType type);

/// Type of coefficient `k`; `k` must not exceed the order.
MLIR_CAPI_EXPORTED MlirType mlirTaylorJetTypeGetCoefficientType(MlirType type,
                                                                unsigned k);

#ifdef __cplusplus
}
#endif

#endif // TAYLOR_C_DIALECTS_H
