//===- TaylorDialect.cpp - Taylor dialect ---------------------------------===//
//
// Registers the ops and types of the `taylor` dialect.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorDialect.h"
#include "Taylor/IR/TaylorOps.h"
#include "Taylor/IR/TaylorTypes.h"

#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::taylor;

#include "Taylor/IR/TaylorOpsDialect.cpp.inc"

namespace {

/// Every taylor op may be inlined: none depends on the function it is in
/// (`taylor.propagate` is isolated from above; the others are pure). Without
/// this, the inliner keeps calls of functions that use them, e.g. the vjp
/// functions that `taylor_mlir.func` composes.
struct TaylorInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;

  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
};

} // namespace

void TaylorDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Taylor/IR/TaylorOps.cpp.inc"
      >();
  registerTypes();
  addInterfaces<TaylorInlinerInterface>();
}
