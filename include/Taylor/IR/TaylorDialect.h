//===- TaylorDialect.h - Taylor dialect -------------------------*- C++ -*-===//
//
// Declares the `taylor` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLORDIALECT_H
#define TAYLOR_IR_TAYLORDIALECT_H

#include "mlir/IR/Dialect.h"

#include "Taylor/IR/TaylorOpsDialect.h.inc"

#endif // TAYLOR_IR_TAYLORDIALECT_H
