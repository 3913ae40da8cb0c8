//===- TaylorReverse.cpp - The reverse-mode transform ---------------------===//
//
// Implements `taylor-reverse`: clones a function into one that also returns
// vector-Jacobian products. The clone keeps the primal computation; the
// adjoints are appended after it, op by op in reverse order, by the ops'
// adjoint rules (`AdjointRuleOpInterface`).
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/Rules.h"
#include "Taylor/Transforms/Passes.h"
#include "Taylor/Transforms/Utils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORREVERSE
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

bool isFloatTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// The operands of `op` and the values its regions capture.
SmallVector<Value> getInputs(Operation *op) {
  SmallVector<Value> inputs(op->getOperands());
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  llvm::append_range(inputs, captured);
  return inputs;
}

/// Adjoints of the values of one function, with its activity analysis.
class FunctionAdjoints : public AdjointState {
public:
  /// Activity of the ops of `block`: values that depend on `sources` and
  /// influence `sinks`. Sizes (`index` values, such as `tensor.dim` of an
  /// active tensor) carry no derivative: a tensor shaped by them, such as
  /// the `-inf` init of a max over a dynamic batch, is not active.
  FunctionAdjoints(Block &block, ArrayRef<Value> sources,
                   ArrayRef<Value> sinks) {
    DenseSet<Value> varied(sources.begin(), sources.end());
    for (Operation &op : block.without_terminator()) {
      if (llvm::any_of(getInputs(&op),
                       [&](Value v) { return varied.contains(v); }))
        for (Value r : op.getResults())
          if (!r.getType().isIndex())
            varied.insert(r);
    }
    DenseSet<Value> useful(sinks.begin(), sinks.end());
    for (Operation &op : llvm::reverse(block.without_terminator()))
      if (llvm::any_of(op.getResults(),
                       [&](Value r) { return useful.contains(r); }))
        for (Value v : getInputs(&op))
          useful.insert(v);
    for (Value v : varied)
      if (useful.contains(v))
        active.insert(v);
  }

  bool isActive(Value primal) const override {
    return isFloatTensor(primal.getType()) && active.contains(primal);
  }
  /// Whether `primal` depends on a differentiated argument and influences a
  /// differentiated result, whatever its type.
  bool isOnPath(Value primal) const { return active.contains(primal); }
  Value getAdjoint(Value primal) const override {
    return adjoints.lookup(primal);
  }
  void setAdjoint(Value primal, Value adjoint) override {
    adjoints[primal] = adjoint;
  }
  void addToAdjoint(OpBuilder &builder, Location loc, Value primal,
                    Value contribution) override {
    if (!contribution)
      return;
    Value &slot = adjoints[primal];
    slot =
        slot ? buildTensorAdd(builder, loc, slot, contribution) : contribution;
  }

private:
  DenseSet<Value> active;
  DenseMap<Value, Value> adjoints;
};

struct TaylorReversePass
    : public taylor::impl::TaylorReverseBase<TaylorReversePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Finds the function to differentiate, or reports why not.
  func::FuncOp findFunction();
  /// Checks the options against `func` and fills the index lists.
  LogicalResult verifyOptions(func::FuncOp func);
  /// Appends the adjoints to `vjpFunc` (a clone of the original).
  LogicalResult transform(func::FuncOp vjpFunc);

  SmallVector<unsigned> argumentIndices;
  SmallVector<unsigned> resultIndices;
};

} // namespace

func::FuncOp TaylorReversePass::findFunction() {
  return findFunctionToTransform(getOperation(), functionName,
                                 "taylor-reverse");
}

/// Fills `indices` from `option` (default: every index whose type is a
/// floating-point tensor), checking each against `types`.
static LogicalResult selectIndices(func::FuncOp func, StringRef what,
                                   ArrayRef<unsigned> option, TypeRange types,
                                   SmallVectorImpl<unsigned> &indices) {
  indices.clear();
  if (option.empty()) {
    for (auto [i, type] : llvm::enumerate(types))
      if (isFloatTensor(type))
        indices.push_back(i);
    return success();
  }
  for (unsigned i : option) {
    if (i >= types.size())
      return func.emitError()
             << "taylor-reverse: '" << what << "' lists " << i << " but '@"
             << func.getSymName() << "' has " << types.size() << " " << what;
    if (!isFloatTensor(types[i]))
      return func.emitError()
             << "taylor-reverse: " << what << " #" << i
             << " must be a ranked tensor of floats, got " << types[i];
    if (llvm::is_contained(indices, i))
      return func.emitError()
             << "taylor-reverse: '" << what << "' lists " << i << " twice";
    indices.push_back(i);
  }
  return success();
}

LogicalResult TaylorReversePass::verifyOptions(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return func.emitError() << "taylor-reverse: functions with more than one "
                               "block are not supported";
  if (failed(selectIndices(func, "arguments", arguments,
                           func.getArgumentTypes(), argumentIndices)) ||
      failed(selectIndices(func, "results", results, func.getResultTypes(),
                           resultIndices)))
    return failure();
  if (argumentIndices.empty())
    return func.emitError() << "taylor-reverse: '@" << func.getSymName()
                            << "' has no floating-point tensor argument to "
                               "differentiate";
  if (resultIndices.empty())
    return func.emitError() << "taylor-reverse: '@" << func.getSymName()
                            << "' has no floating-point tensor result to "
                               "differentiate";
  return success();
}

void TaylorReversePass::runOnOperation() {
  func::FuncOp func = findFunction();
  if (!func || failed(verifyOptions(func)))
    return signalPassFailure();
  std::string name = vjpFunctionName.empty()
                         ? (func.getSymName() + "_vjp").str()
                         : vjpFunctionName.getValue();
  func::FuncOp vjpFunc =
      cloneFunctionAs(func, name, "taylor-reverse", "vjp-function");
  if (!vjpFunc)
    return signalPassFailure();
  if (failed(transform(vjpFunc))) {
    vjpFunc.erase();
    return signalPassFailure();
  }
  // Adjoint generics list every primal input; drop those their bodies do not
  // read, and dead code.
  RewritePatternSet patterns(&getContext());
  linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
  if (failed(applyPatternsGreedily(vjpFunc, std::move(patterns)))) {
    vjpFunc.emitError() << "taylor-reverse: clean-up did not converge";
    return signalPassFailure();
  }
}

LogicalResult TaylorReversePass::transform(func::FuncOp vjpFunc) {
  Block &entry = vjpFunc.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  Location loc = vjpFunc.getLoc();

  // Cotangent arguments, one per differentiated result.
  SmallVector<Value> sources, sinks;
  for (unsigned i : argumentIndices)
    sources.push_back(entry.getArgument(i));
  for (unsigned i : resultIndices)
    sinks.push_back(ret.getOperand(i));
  FunctionAdjoints state(entry, sources, sinks);
  OpBuilder builder(ret);
  for (unsigned i : resultIndices) {
    Type type = ret.getOperand(i).getType();
    BlockArgument cotangent = entry.addArgument(type, loc);
    // A result returned twice, or an argument returned as is, adds up.
    state.addToAdjoint(builder, loc, ret.getOperand(i), cotangent);
  }

  // Walk the primal ops backwards.
  SmallVector<Operation *> primalOps = llvm::to_vector(llvm::map_range(
      entry.without_terminator(), [](Operation &op) { return &op; }));
  for (Operation *op : llvm::reverse(primalOps)) {
    bool hasAdjoint = llvm::any_of(op->getResults(), [&](Value r) {
      return state.isOnPath(r) && state.getAdjoint(r);
    });
    SmallVector<Value> inputs = getInputs(op);
    bool reachesArguments =
        llvm::any_of(inputs, [&](Value v) { return state.isOnPath(v); });
    if (!hasAdjoint || !reachesArguments)
      continue;
    // Rules see operands only: a region reading an active value directly
    // would lose its adjoint.
    for (Value v : ArrayRef<Value>(inputs).drop_front(op->getNumOperands()))
      if (state.isOnPath(v))
        return op->emitError()
               << "taylor-reverse: '" << op->getName()
               << "' uses a value that depends on a differentiated argument "
                  "inside a region";
    // A float value that is not a tensor (a scalar extracted from an active
    // tensor) would lose its adjoint: refuse.
    for (Value v : inputs)
      if (state.isOnPath(v) && !isFloatTensor(v.getType()) &&
          isa<FloatType>(getElementTypeOrSelf(v.getType())))
        return op->emitError()
               << "taylor-reverse: '" << op->getName()
               << "' reads a value of type " << v.getType()
               << " that depends on a differentiated argument; only tensors "
                  "carry adjoints";
    auto rule = dyn_cast<AdjointRuleOpInterface>(op);
    if (!rule)
      return op->emitError() << "no adjoint rule for '" << op->getName() << "'";
    if (failed(rule.buildAdjoint(builder, state)))
      return failure();
    ++numAdjointOps;
  }

  // Return the primal results, then the gradients (zeros where no result
  // depends on an argument).
  SmallVector<Value> results(ret.getOperands());
  for (unsigned i : argumentIndices) {
    Value arg = entry.getArgument(i);
    Value adjoint = state.getAdjoint(arg);
    results.push_back(adjoint ? adjoint : createZeroLike(builder, loc, arg));
  }
  func::ReturnOp::create(builder, ret.getLoc(), results);
  ret.erase();
  vjpFunc.setFunctionType(FunctionType::get(
      &getContext(), entry.getArgumentTypes(), ValueRange(results).getTypes()));
  return success();
}
