//===- TaylorOps.h - Taylor dialect operations ------------------*- C++ -*-===//
//
// Declares the operations of the `taylor` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLOROPS_H
#define TAYLOR_IR_TAYLOROPS_H

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/IR/TaylorInterfaces.h"
#include "Taylor/IR/TaylorTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "Taylor/IR/TaylorOps.h.inc"

#endif // TAYLOR_IR_TAYLOROPS_H
