//===- TaylorDialect.cpp - Taylor dialect ---------------------------------===//
//
// Registers the ops and types of the `taylor` dialect.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/IR/TaylorOps.h"
#include "Taylor/IR/TaylorTypes.h"

using namespace mlir;
using namespace mlir::taylor;

#include "Taylor/IR/TaylorOpsDialect.cpp.inc"

void TaylorDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Taylor/IR/TaylorOps.cpp.inc"
      >();
  registerTypes();
}
