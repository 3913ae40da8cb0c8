//===- TaylorInterfaces.cpp - Taylor-mode rule interfaces -----------------===//

#include "Taylor/IR/TaylorInterfaces.h"

using namespace mlir;
using namespace mlir::taylor;

#include "Taylor/IR/TaylorInterfaces.cpp.inc"
