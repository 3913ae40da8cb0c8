//===- TaylorTypes.h - Taylor dialect types ---------------------*- C++ -*-===//
//
// Declares `!taylor.jet`.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLORTYPES_H
#define TAYLOR_IR_TAYLORTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "Taylor/IR/TaylorOpsTypes.h.inc"

#endif // TAYLOR_IR_TAYLORTYPES_H
