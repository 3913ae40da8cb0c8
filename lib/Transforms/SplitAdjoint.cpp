//===- SplitAdjoint.cpp - A vjp function as primal and adjoint halves -----===//
//
// Implements `taylor-split-adjoint`: the ops of a vector-Jacobian-product
// function (`taylor-reverse`) that do not depend on its cotangent arguments
// become a primal function that also returns the values the others read
// (the tape); the others become an adjoint function of the arguments, the
// tape and the cotangents. Constants and empty tensors are rematerialized
// instead of taped, and so are tensors of sub-byte elements (the i1 masks of
// `where`, `softplus`, ...), which the LLVM lowering cannot store: they are
// recomputed in the adjoint from their (taped or rematerialized) operands,
// as are index and integer scalars (sizes of dynamic dimensions).
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"
#include "Taylor/Transforms/Utils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include <functional>

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORSPLITADJOINT
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Whether `op` is cheaper to recompute than to keep: a constant, an empty
/// tensor, a fill of one with a constant, or side-effect-free scalar (index
/// and integer) arithmetic such as the sizes of dynamic dimensions, with
/// operands of the same kinds or arguments.
bool isRematerializable(Operation *op) {
  auto operandsAre = [](Operation *op) {
    return llvm::all_of(op->getOperands(), [](Value v) {
      if (isa<BlockArgument>(v))
        return true;
      return isRematerializable(v.getDefiningOp());
    });
  };
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  if (isa<tensor::EmptyOp>(op))
    return operandsAre(op);
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.hasPureTensorSemantics() && operandsAre(op);
  bool scalarResults = llvm::all_of(op->getResultTypes(), [](Type t) {
    return t.isIndex() || t.isSignlessInteger();
  });
  return op->getNumRegions() == 0 && op->getNumResults() != 0 &&
         scalarResults && isMemoryEffectFree(op) && operandsAre(op);
}

/// Whether `op` computes index or integer scalars (such as `tensor.dim`, the
/// size of a dynamic dimension of an intermediate tensor) without side
/// effects: recomputed in the adjoint from its operands rather than taped
/// (the tape holds tensors only).
bool isRecomputedScalar(Operation *op) {
  bool scalarResults = llvm::all_of(op->getResultTypes(), [](Type t) {
    return t.isIndex() || t.isSignlessInteger();
  });
  return op->getNumRegions() == 0 && op->getNumResults() != 0 &&
         scalarResults && isMemoryEffectFree(op);
}

/// Whether `v` is a tensor of elements narrower than a byte (an i1 mask)
/// computed by a side-effect-free op: recomputed in the adjoint rather than
/// taped (stored), which the LLVM lowering cannot do for sub-byte elements.
bool isRecomputedMask(Value v) {
  auto tensor = dyn_cast<RankedTensorType>(v.getType());
  if (!tensor || !tensor.getElementType().isIntOrFloat() ||
      tensor.getElementType().getIntOrFloatBitWidth() >= 8)
    return false;
  Operation *def = v.getDefiningOp();
  return def && def->getNumRegions() <= 1 && isMemoryEffectFree(def);
}

struct TaylorSplitAdjointPass
    : public taylor::impl::TaylorSplitAdjointBase<TaylorSplitAdjointPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  LogicalResult split(func::FuncOp func);
};

} // namespace

void TaylorSplitAdjointPass::runOnOperation() {
  func::FuncOp func = findFunctionToTransform(getOperation(), functionName,
                                              "taylor-split-adjoint");
  if (!func || failed(split(func)))
    return signalPassFailure();
}

LogicalResult TaylorSplitAdjointPass::split(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return func.emitError() << "taylor-split-adjoint: functions with more "
                               "than one block are not supported";
  Block &entry = func.getBody().front();
  unsigned numArgs = entry.getNumArguments();
  unsigned numResults = func.getNumResults();
  if (cotangents > numArgs || primalResults > numResults)
    return func.emitError()
           << "taylor-split-adjoint: '@" << func.getSymName() << "' has "
           << numArgs << " argument(s) and " << numResults
           << " result(s); 'cotangents' is " << cotangents.getValue()
           << " and 'primal-results' " << primalResults.getValue();
  std::string primalName = primalFunctionName.empty()
                               ? (func.getSymName() + "_primal").str()
                               : primalFunctionName.getValue();
  std::string adjointName = adjointFunctionName.empty()
                                ? (func.getSymName() + "_adjoint").str()
                                : adjointFunctionName.getValue();
  for (StringRef name : {StringRef(primalName), StringRef(adjointName)})
    if (SymbolTable::lookupSymbolIn(getOperation(), name))
      return func.emitError() << "taylor-split-adjoint: a symbol '@" << name
                              << "' already exists";

  // The adjoint part: what depends on a cotangent.
  unsigned firstCotangent = numArgs - cotangents;
  DenseSet<Value> dependent;
  for (unsigned i = firstCotangent; i < numArgs; ++i)
    dependent.insert(entry.getArgument(i));
  DenseSet<Operation *> adjointOps;
  for (Operation &op : entry.without_terminator()) {
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op.getRegions(), captured);
    auto isDependent = [&](Value v) { return dependent.contains(v); };
    if (llvm::any_of(op.getOperands(), isDependent) ||
        llvm::any_of(captured, isDependent)) {
      adjointOps.insert(&op);
      for (Value r : op.getResults())
        dependent.insert(r);
    }
  }
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  for (unsigned i = 0; i < primalResults; ++i)
    if (dependent.contains(ret.getOperand(i)))
      return func.emitError()
             << "taylor-split-adjoint: result #" << i
             << " is a primal result but depends on a cotangent";

  // The tape: primal values (not arguments, not rematerializable) that the
  // adjoint part reads or returns.
  SetVector<Value> tape;
  SetVector<Operation *> remat;
  std::function<void(Value)> record = [&](Value v) {
    if (dependent.contains(v) || isa<BlockArgument>(v))
      return;
    Operation *def = v.getDefiningOp();
    if (isRematerializable(def)) {
      SmallVector<Operation *> worklist = {def};
      while (!worklist.empty()) {
        Operation *op = worklist.pop_back_val();
        if (!remat.insert(op))
          continue;
        for (Value operand : op->getOperands())
          if (Operation *d = operand.getDefiningOp())
            worklist.push_back(d);
      }
      return;
    }
    if (isRecomputedMask(v) || isRecomputedScalar(def)) {
      if (!remat.insert(def))
        return;
      SetVector<Value> captured;
      getUsedValuesDefinedAbove(def->getRegions(), captured);
      for (Value operand : def->getOperands())
        record(operand);
      for (Value c : captured)
        record(c);
      return;
    }
    tape.insert(v);
  };
  for (Operation *op : adjointOps) {
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op->getRegions(), captured);
    for (Value v : op->getOperands())
      record(v);
    for (Value v : captured)
      record(v);
  }
  for (unsigned i = primalResults; i < numResults; ++i)
    record(ret.getOperand(i));

  OpBuilder builder(func);
  MLIRContext *ctx = &getContext();
  Location loc = func.getLoc();

  // The primal function: the arguments but the cotangents, the primal ops;
  // returns the primal results and the tape.
  {
    SmallVector<Type> inputs(
        func.getArgumentTypes().take_front(firstCotangent));
    SmallVector<Type> results;
    for (unsigned i = 0; i < primalResults; ++i)
      results.push_back(ret.getOperand(i).getType());
    for (Value v : tape)
      results.push_back(v.getType());
    builder.setInsertionPointAfter(func);
    auto primal = func::FuncOp::create(builder, loc, primalName,
                                       FunctionType::get(ctx, inputs, results));
    Block *block = primal.addEntryBlock();
    IRMapping mapping;
    for (unsigned i = 0; i < firstCotangent; ++i)
      mapping.map(entry.getArgument(i), block->getArgument(i));
    OpBuilder body = OpBuilder::atBlockEnd(block);
    for (Operation &op : entry.without_terminator())
      if (!adjointOps.contains(&op))
        body.clone(op, mapping);
    SmallVector<Value> returned;
    for (unsigned i = 0; i < primalResults; ++i)
      returned.push_back(mapping.lookupOrDefault(ret.getOperand(i)));
    for (Value v : tape)
      returned.push_back(mapping.lookup(v));
    func::ReturnOp::create(body, loc, returned);
  }

  // The adjoint function: the arguments but the cotangents, the tape, the
  // cotangents; the rematerialized and adjoint ops; returns the rest.
  {
    SmallVector<Type> inputs(
        func.getArgumentTypes().take_front(firstCotangent));
    for (Value v : tape)
      inputs.push_back(v.getType());
    llvm::append_range(inputs,
                       func.getArgumentTypes().drop_front(firstCotangent));
    SmallVector<Type> results;
    for (unsigned i = primalResults; i < numResults; ++i)
      results.push_back(ret.getOperand(i).getType());
    builder.setInsertionPointAfter(func);
    auto adjoint = func::FuncOp::create(
        builder, loc, adjointName, FunctionType::get(ctx, inputs, results));
    Block *block = adjoint.addEntryBlock();
    IRMapping mapping;
    unsigned next = 0;
    for (unsigned i = 0; i < firstCotangent; ++i)
      mapping.map(entry.getArgument(i), block->getArgument(next++));
    for (Value v : tape)
      mapping.map(v, block->getArgument(next++));
    for (unsigned i = firstCotangent; i < numArgs; ++i)
      mapping.map(entry.getArgument(i), block->getArgument(next++));
    OpBuilder body = OpBuilder::atBlockEnd(block);
    for (Operation &op : entry.without_terminator())
      if (remat.contains(&op) || adjointOps.contains(&op))
        body.clone(op, mapping);
    SmallVector<Value> returned;
    for (unsigned i = primalResults; i < numResults; ++i)
      returned.push_back(mapping.lookupOrDefault(ret.getOperand(i)));
    func::ReturnOp::create(body, loc, returned);
  }
  numTaped += tape.size();
  return success();
}
