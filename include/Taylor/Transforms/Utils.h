//===- Utils.h - Helpers shared by the taylor-mlir passes -------*- C++ -*-===//
//
// Small helpers that several transforms use.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_TRANSFORMS_UTILS_H
#define TAYLOR_TRANSFORMS_UTILS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace taylor {

/// The function of `module` a module-level transform works on: `@name`, or
/// the module's only function with a body when `name` is empty. Emits an
/// error prefixed with `pass` and returns null when there is none (or
/// several).
func::FuncOp findFunctionToTransform(ModuleOp module, StringRef name,
                                     StringRef pass);

/// A public copy of `func` named `name`, inserted after it: the function a
/// transform builds. Emits an error (prefixed with `pass`, suggesting the
/// option `option`) and returns null if the symbol exists.
func::FuncOp cloneFunctionAs(func::FuncOp func, StringRef name, StringRef pass,
                             StringRef option);

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_TRANSFORMS_UTILS_H
