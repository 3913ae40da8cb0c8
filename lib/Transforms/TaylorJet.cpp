//===- TaylorJet.cpp - The Taylor-mode transform --------------------------===//
//
// Implements `taylor-jet`: clones a function into one that pushes jets
// through it, wrapping every op that depends on the differentiated input in
// a `taylor.propagate` op. Jets are carried through `scf.for` (iter_args),
// `scf.if` (results) and `func.call` (a jet version of each callee, one per
// set of active arguments).
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/Rules.h"
#include "Taylor/Transforms/Passes.h"
#include "Taylor/Transforms/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/RegionGraphTraits.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/PostOrderIterator.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORJET
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

/// Adds to `active` the values that `op` defines (results, and values inside
/// its regions) that depend on a value of `active`. `scf.for` iter_args are
/// iterated to a fixpoint: one that is yielded a dependent value is active.
void propagateActivity(Operation *op, DenseSet<Value> &active);

void propagateActivity(Block &block, DenseSet<Value> &active) {
  for (Operation &op : block)
    propagateActivity(&op, active);
}

/// Which iter_args of `forOp` carry values that depend on `active` (only
/// floating-point tensors can carry jets); fills `active` with the values of
/// the body that do.
SmallVector<bool> getActiveIterArgs(scf::ForOp forOp, DenseSet<Value> &active) {
  SmallVector<bool> activeArgs;
  for (Value init : forOp.getInitArgs())
    activeArgs.push_back(isFloatTensor(init.getType()) && active.count(init));
  auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
  while (true) {
    DenseSet<Value> inner = active;
    for (auto [arg, isActive] :
         llvm::zip(forOp.getRegionIterArgs(), activeArgs))
      if (isActive)
        inner.insert(arg);
    propagateActivity(*forOp.getBody(), inner);
    bool changed = false;
    for (auto [i, value] : llvm::enumerate(yield.getOperands()))
      if (!activeArgs[i] && isFloatTensor(value.getType()) &&
          inner.count(value)) {
        activeArgs[i] = true;
        changed = true;
      }
    if (!changed) {
      active = std::move(inner);
      return activeArgs;
    }
  }
}

/// Which results of `ifOp` depend on `active` in either branch.
SmallVector<bool> getActiveResults(scf::IfOp ifOp, DenseSet<Value> &active) {
  SmallVector<bool> activeResults(ifOp.getNumResults(), false);
  for (Region *region : {&ifOp.getThenRegion(), &ifOp.getElseRegion()}) {
    if (region->empty())
      continue;
    propagateActivity(region->front(), active);
    auto yield = cast<scf::YieldOp>(region->front().getTerminator());
    for (auto [i, value] : llvm::enumerate(yield.getOperands()))
      if (isFloatTensor(value.getType()) && active.count(value))
        activeResults[i] = true;
  }
  return activeResults;
}

void propagateActivity(Operation *op, DenseSet<Value> &active) {
  if (auto forOp = dyn_cast<scf::ForOp>(op)) {
    SmallVector<bool> activeArgs = getActiveIterArgs(forOp, active);
    for (auto [result, isActive] : llvm::zip(forOp.getResults(), activeArgs))
      if (isActive)
        active.insert(result);
    return;
  }
  if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
    SmallVector<bool> activeResults = getActiveResults(ifOp, active);
    for (auto [result, isActive] : llvm::zip(ifOp.getResults(), activeResults))
      if (isActive)
        active.insert(result);
    return;
  }
  bool isActive =
      llvm::any_of(op->getOperands(), [&](Value v) { return active.count(v); });
  if (!isActive && op->getNumRegions()) {
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op->getRegions(), captured);
    isActive = llvm::any_of(captured, [&](Value v) { return active.count(v); });
  }
  if (isActive)
    active.insert(op->getResults().begin(), op->getResults().end());
}

/// Whether `op` or its regions use a value of `jets`.
bool usesJets(Operation *op, const DenseMap<Value, Value> &jets) {
  if (llvm::any_of(op->getOperands(), [&](Value v) { return jets.count(v); }))
    return true;
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  return llvm::any_of(captured, [&](Value v) { return jets.count(v); });
}

struct TaylorJetPass : public taylor::impl::TaylorJetBase<TaylorJetPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Finds the function to transform, or reports why not.
  func::FuncOp findFunction();
  /// Checks the options against `func`.
  LogicalResult verifyOptions(func::FuncOp func);
  /// Transforms the body of `jetFunc` (a clone of the original).
  LogicalResult transform(func::FuncOp jetFunc);
  /// Pushes jets through the ops of `block` from `begin` to its terminator
  /// (excluded). `jets` maps the primal values that depend on the input to
  /// their jets; the ops replaced by jet versions are appended to `dead`.
  LogicalResult transformOps(Block &block, Block::iterator begin,
                             DenseMap<Value, Value> &jets,
                             SmallVectorImpl<Operation *> &dead);
  /// Pushes jets through the blocks of a function body, the entry block from
  /// `entryBegin`: a block argument becomes a jet when a branch passes it a
  /// value that depends on the input (iterated to a fixpoint over the
  /// branches), and the branches pass jets to it.
  LogicalResult transformBlocks(Region &body, Block::iterator entryBegin,
                                DenseMap<Value, Value> &jets,
                                SmallVectorImpl<Operation *> &dead);
  /// Wraps the active op `op` in a taylor.propagate.
  LogicalResult wrap(Operation *op, OpBuilder &builder,
                     DenseMap<Value, Value> &jets);
  /// Replaces an active `scf.for` by one that carries jets in its iter_args.
  LogicalResult transformFor(scf::ForOp forOp, DenseMap<Value, Value> &jets,
                             SmallVectorImpl<Operation *> &dead);
  /// Replaces an active `scf.if` by one that yields jets.
  LogicalResult transformIf(scf::IfOp ifOp, DenseMap<Value, Value> &jets,
                            SmallVectorImpl<Operation *> &dead);
  /// Replaces a call with jet operands by a call of the jet callee.
  LogicalResult transformCall(func::CallOp call, DenseMap<Value, Value> &jets,
                              SmallVectorImpl<Operation *> &dead);
  /// The jet version of `callee` whose arguments `activeArgs` are jets and
  /// whose floating-point tensor results are jets (created once per callee
  /// and set of active arguments).
  FailureOr<func::FuncOp>
  getJetCallee(func::FuncOp callee, ArrayRef<bool> activeArgs, Operation *call);
  /// The jet of `value`: its entry in `jets`, or a jet with zero higher
  /// coefficients.
  Value getJetOrZero(OpBuilder &builder, Location loc, Value value,
                     const DenseMap<Value, Value> &jets);
  /// The standard jet type of the primal type `type`.
  JetType getJetType(Type type);
  /// Replaces block argument `arg` by a jet, typed in place: its primal uses
  /// read coefficient 0, which is mapped to the jet in `jets`.
  void makeJetArgument(BlockArgument arg, OpBuilder &builder,
                       DenseMap<Value, Value> &jets);
  /// The type of the argument that gives an input coefficient of `x`.
  RankedTensorType getSeedArgumentType(RankedTensorType primalType);
  /// Builds the input coefficient tensor<R x T> from its argument `arg`
  /// (null for identity seeds), at the builder's insertion point.
  Value buildSeed(OpBuilder &builder, Location loc, Value x0, Value arg);

  SmallVector<unsigned> inputOrders;
  SmallVector<unsigned> resultOrders;
  /// Jet callees by callee name and active arguments.
  llvm::StringMap<func::FuncOp> jetCallees;
  /// Callees whose jet version is being built (recursion).
  llvm::SmallPtrSet<Operation *, 4> calleesInProgress;
};

/// Erases the ops replaced by jet versions, users first.
LogicalResult eraseDead(ArrayRef<Operation *> dead) {
  for (Operation *op : llvm::reverse(dead)) {
    if (!op->use_empty())
      return op->emitError() << "taylor-jet: internal error: a replaced op "
                                "still has uses";
    op->erase();
  }
  return success();
}

} // namespace

func::FuncOp TaylorJetPass::findFunction() {
  return findFunctionToTransform(getOperation(), functionName, "taylor-jet");
}

LogicalResult TaylorJetPass::verifyOptions(func::FuncOp func) {
  if (order < 1)
    return func.emitError() << "taylor-jet: 'order' must be at least 1, got "
                            << order.getValue();
  if (directions < 1)
    return func.emitError()
           << "taylor-jet: 'directions' must be at least 1, got "
           << directions.getValue();
  unsigned numArgs = func.getNumArguments();
  if (argument >= numArgs)
    return func.emitError()
           << "taylor-jet: 'argument' is " << argument.getValue() << " but '@"
           << func.getSymName() << "' has " << numArgs << " argument(s)";
  Type argType = func.getArgumentTypes()[argument];
  if (!isFloatTensor(argType))
    return func.emitError()
           << "taylor-jet: argument #" << argument.getValue()
           << " must be a ranked tensor of floats, got " << argType;
  if (!sumTop && (!weights.empty() || runtimeWeights))
    return func.emitError() << "taylor-jet: 'weights' and 'runtime-weights' "
                               "need 'sum-top'";
  if (!weights.empty() && runtimeWeights)
    return func.emitError() << "taylor-jet: give either 'weights' or "
                               "'runtime-weights', not both";
  if (seed != "input" && seed != "broadcast" && seed != "identity")
    return func.emitError() << "taylor-jet: 'seed' must be 'input', "
                               "'broadcast' or 'identity', got '"
                            << seed << "'";
  auto xType = cast<RankedTensorType>(argType);
  if (seed != "input" && xType.getRank() < 1)
    return func.emitError()
           << "taylor-jet: seed '" << seed
           << "' needs a batch dimension 0 in the input, got " << argType;
  if (seed == "identity") {
    if (xType.getRank() != 2 || xType.isDynamicDim(1) ||
        xType.getDimSize(1) != directions)
      return func.emitError()
             << "taylor-jet: identity seeds need an input tensor<B x D> "
                "with static D = 'directions' ("
             << directions.getValue() << "), got " << argType;
    if (!inputCoefficients.empty() &&
        (inputCoefficients.size() != 1 || inputCoefficients[0] != 1))
      return func.emitError() << "taylor-jet: identity seeds give x_1 only; "
                                 "'input-coefficients' must be 1";
  }
  if (!weights.empty() && weights.size() != directions)
    return func.emitError()
           << "taylor-jet: 'weights' has " << weights.size()
           << " values but 'directions' is " << directions.getValue();
  resultOrders.clear();
  for (unsigned k : resultCoefficients) {
    if (k > order)
      return func.emitError() << "taylor-jet: 'result-coefficients' must lie "
                                 "in 0 .. "
                              << order.getValue() << ", got " << k;
    if (llvm::is_contained(resultOrders, k))
      return func.emitError()
             << "taylor-jet: 'result-coefficients' lists " << k << " twice";
    resultOrders.push_back(k);
  }
  if (resultOrders.empty())
    for (unsigned k = 0; k <= order; ++k)
      resultOrders.push_back(k);
  llvm::sort(resultOrders);
  inputOrders.clear();
  if (seed == "identity") {
    inputOrders.push_back(1);
  } else if (inputCoefficients.empty()) {
    for (unsigned k = 1; k <= order; ++k)
      inputOrders.push_back(k);
  } else {
    for (unsigned k : inputCoefficients) {
      if (k < 1 || k > order)
        return func.emitError() << "taylor-jet: 'input-coefficients' must lie "
                                   "in 1 .. "
                                << order.getValue() << ", got " << k;
      if (llvm::is_contained(inputOrders, k))
        return func.emitError()
               << "taylor-jet: 'input-coefficients' lists " << k << " twice";
      inputOrders.push_back(k);
    }
    llvm::sort(inputOrders);
  }
  return success();
}

void TaylorJetPass::runOnOperation() {
  func::FuncOp func = findFunction();
  if (!func || failed(verifyOptions(func)))
    return signalPassFailure();

  std::string name = jetFunctionName.empty()
                         ? (func.getSymName() + "_jet").str()
                         : jetFunctionName.getValue();
  func::FuncOp jetFunc =
      cloneFunctionAs(func, name, "taylor-jet", "jet-function");
  if (!jetFunc)
    return signalPassFailure();
  jetCallees.clear();
  if (failed(transform(jetFunc))) {
    jetFunc.erase();
    for (auto &entry : jetCallees)
      entry.second.erase();
    return signalPassFailure();
  }
}

LogicalResult TaylorJetPass::transform(func::FuncOp jetFunc) {
  Block &entry = jetFunc.getBody().front();
  MLIRContext *ctx = &getContext();
  Location loc = jetFunc.getLoc();
  BlockArgument x0 = entry.getArgument(argument);
  auto primalType = cast<RankedTensorType>(x0.getType());
  auto jetType = JetType::get(ctx, order, directions, primalType, false);

  // New arguments x_k after x_0 (none for identity seeds).
  SmallVector<Value> coefficients(order + 1, Value());
  coefficients[0] = x0;
  unsigned numSeedArgs = seed == "identity" ? 0 : inputOrders.size();
  for (unsigned i = 0; i < numSeedArgs; ++i) {
    unsigned index = argument + 1 + i;
    if (failed(jetFunc.insertArgument(index, getSeedArgumentType(primalType),
                                      {}, loc)))
      return jetFunc.emitError() << "taylor-jet: could not add an argument";
  }
  OpBuilder builder(ctx);
  builder.setInsertionPointToStart(&entry);
  for (auto [i, k] : llvm::enumerate(inputOrders))
    coefficients[k] = buildSeed(
        builder, loc, x0,
        seed == "identity" ? Value() : entry.getArgument(argument + 1 + i));
  Value weightsArg;
  if (runtimeWeights) {
    unsigned index = argument + 1 + numSeedArgs;
    auto weightsType =
        RankedTensorType::get({directions}, primalType.getElementType());
    if (failed(jetFunc.insertArgument(index, weightsType, {}, loc)))
      return jetFunc.emitError() << "taylor-jet: could not add an argument";
    weightsArg = entry.getArgument(index);
  }
  Value zero;
  for (unsigned k = 1; k <= order; ++k) {
    if (coefficients[k])
      continue;
    if (!zero)
      zero = createZeroCoefficient(builder, loc, x0, directions);
    coefficients[k] = zero;
  }
  auto seed = MakeJetOp::create(builder, loc, jetType, coefficients);

  // Push jets through the body (the ops after the seed: those before it
  // build the input coefficients).
  DenseMap<Value, Value> jets = {{x0, seed}};
  SmallVector<Operation *> dead;
  if (failed(transformBlocks(jetFunc.getBody(),
                             std::next(Block::iterator(seed)), jets, dead)))
    return failure();

  // Return f_0 .. f_K of every floating-point tensor result, at each return.
  SmallVector<func::ReturnOp> returns(jetFunc.getOps<func::ReturnOp>());
  jetFunc.walk([&](func::ReturnOp ret) {
    if (!llvm::is_contained(returns, ret))
      returns.push_back(ret);
  });
  SmallVector<Value> results;
  for (func::ReturnOp ret : returns) {
    builder.setInsertionPoint(ret);
    results.clear();
    for (Value v : ret.getOperands()) {
      if (!isFloatTensor(v.getType())) {
        results.push_back(v);
        continue;
      }
      auto it = jets.find(v);
      if (it == jets.end()) {
        // Does not depend on the input: zero higher coefficients.
        Value zeroCoefficient;
        for (unsigned k : resultOrders) {
          if (k == 0) {
            results.push_back(v);
          } else if (k == order && sumTop) {
            results.push_back(createZeroLike(builder, ret.getLoc(), v));
          } else {
            if (!zeroCoefficient)
              zeroCoefficient =
                  createZeroCoefficient(builder, ret.getLoc(), v, directions);
            results.push_back(zeroCoefficient);
          }
        }
        continue;
      }
      Value jet = it->second;
      // With sum-top, every coefficient is read from the summed jet (the lower
      // ones are unchanged), so that the sum is the only user of the jet.
      if (sumTop) {
        jet = weights.empty()
                  ? SumOp::create(builder, ret.getLoc(), jet, weightsArg)
                  : SumOp::create(builder, ret.getLoc(), jet,
                                  ArrayRef<double>(weights));
      }
      for (unsigned k : resultOrders)
        results.push_back(CoeffOp::create(builder, ret.getLoc(), jet, k));
    }
    func::ReturnOp::create(builder, ret.getLoc(), results);
    ret.erase();
  }
  jetFunc.setFunctionType(FunctionType::get(ctx, entry.getArgumentTypes(),
                                            ValueRange(results).getTypes()));

  // The original active ops are dead now.
  return eraseDead(dead);
}

LogicalResult TaylorJetPass::transformOps(Block &block, Block::iterator begin,
                                          DenseMap<Value, Value> &jets,
                                          SmallVectorImpl<Operation *> &dead) {
  OpBuilder builder(&getContext());
  for (Operation &op : llvm::make_early_inc_range(
           llvm::make_range(begin, Block::iterator(block.getTerminator())))) {
    if (!usesJets(&op, jets))
      continue;
    if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      if (failed(transformFor(forOp, jets, dead)))
        return failure();
      continue;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      if (failed(transformIf(ifOp, jets, dead)))
        return failure();
      continue;
    }
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (failed(transformCall(call, jets, dead)))
        return failure();
      continue;
    }
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op.getRegions(), captured);
    for (Value v : captured)
      if (jets.count(v))
        return op.emitError() << "taylor-jet: '" << op.getName()
                              << "' uses a value that depends on the "
                                 "differentiated input inside a region";
    builder.setInsertionPoint(&op);
    // Ops without floating-point tensor results need only primal values.
    if (llvm::none_of(op.getResultTypes(), isFloatTensor)) {
      for (OpOperand &operand : op.getOpOperands())
        if (auto it = jets.find(operand.get()); it != jets.end())
          operand.set(CoeffOp::create(builder, op.getLoc(), it->second, 0));
      continue;
    }
    if (failed(wrap(&op, builder, jets)))
      return failure();
    dead.push_back(&op);
    ++numPropagated;
  }
  return success();
}

LogicalResult
TaylorJetPass::transformBlocks(Region &body, Block::iterator entryBegin,
                               DenseMap<Value, Value> &jets,
                               SmallVectorImpl<Operation *> &dead) {
  Block *entry = &body.front();
  if (body.hasOneBlock())
    return transformOps(*entry, entryBegin, jets, dead);

  // Blocks in reverse post-order: a block comes after its dominators, so
  // the jets of the values it uses from them exist when it is transformed.
  llvm::ReversePostOrderTraversal<Region *> rpo(&body);
  SmallVector<Block *> blocks(rpo.begin(), rpo.end());
  if (blocks.size() != body.getBlocks().size())
    return body.getParentOp()->emitError()
           << "taylor-jet: functions with unreachable blocks are not "
              "supported";
  for (Block *block : blocks) {
    Operation *terminator = block->getTerminator();
    if (!isa<BranchOpInterface, func::ReturnOp>(terminator))
      return terminator->emitError()
             << "taylor-jet: cannot pass jets along '" << terminator->getName()
             << "'; blocks must end in a branch or 'func.return'";
  }

  // Active block arguments, to a fixpoint over the branches.
  DenseSet<Value> activeArgs;
  while (true) {
    DenseSet<Value> active(activeArgs.begin(), activeArgs.end());
    for (auto &entry : jets)
      active.insert(entry.first);
    for (Block *block : blocks)
      propagateActivity(*block, active);
    bool changed = false;
    for (Block *block : blocks) {
      auto branch = dyn_cast<BranchOpInterface>(block->getTerminator());
      if (!branch)
        continue;
      for (auto [i, successor] : llvm::enumerate(block->getSuccessors())) {
        SuccessorOperands operands = branch.getSuccessorOperands(i);
        for (unsigned j = 0, e = operands.size(); j < e; ++j) {
          BlockArgument arg = successor->getArgument(j);
          if (isFloatTensor(arg.getType()) && operands[j] &&
              active.count(operands[j]) && activeArgs.insert(arg).second)
            changed = true;
        }
      }
    }
    if (!changed)
      break;
  }

  // Jet block arguments; then the ops of each block.
  OpBuilder builder(&getContext());
  DenseMap<Block *, Block::iterator> begins = {{entry, entryBegin}};
  for (Block *block : llvm::drop_begin(blocks)) {
    builder.setInsertionPointToStart(block);
    for (BlockArgument arg : block->getArguments())
      if (activeArgs.count(arg))
        makeJetArgument(arg, builder, jets);
    begins[block] = builder.getInsertionPoint();
  }
  for (Block *block : blocks)
    if (failed(transformOps(*block, begins[block], jets, dead)))
      return failure();

  // Branches pass jets to jet block arguments.
  for (Block *block : blocks) {
    auto branch = dyn_cast<BranchOpInterface>(block->getTerminator());
    if (!branch)
      continue;
    builder.setInsertionPoint(branch);
    for (auto [i, successor] : llvm::enumerate(block->getSuccessors())) {
      SuccessorOperands operands = branch.getSuccessorOperands(i);
      MutableOperandRange forwarded = operands.getMutableForwardedOperands();
      unsigned produced = operands.getProducedOperandCount();
      for (unsigned j = produced, e = operands.size(); j < e; ++j) {
        if (!isa<JetType>(successor->getArgument(j).getType()))
          continue;
        OpOperand &operand = forwarded[j - produced];
        operand.set(
            getJetOrZero(builder, branch.getLoc(), operand.get(), jets));
      }
    }
  }
  return success();
}

JetType TaylorJetPass::getJetType(Type type) {
  return JetType::get(&getContext(), order, directions,
                      cast<RankedTensorType>(type), false);
}

Value TaylorJetPass::getJetOrZero(OpBuilder &builder, Location loc, Value value,
                                  const DenseMap<Value, Value> &jets) {
  if (auto it = jets.find(value); it != jets.end())
    return it->second;
  SmallVector<Value> coefficients = {value};
  Value zero = createZeroCoefficient(builder, loc, value, directions);
  coefficients.append(order, zero);
  return MakeJetOp::create(builder, loc, getJetType(value.getType()),
                           coefficients);
}

void TaylorJetPass::makeJetArgument(BlockArgument arg, OpBuilder &builder,
                                    DenseMap<Value, Value> &jets) {
  arg.setType(getJetType(arg.getType()));
  auto primal = CoeffOp::create(builder, arg.getLoc(), arg, 0);
  arg.replaceAllUsesExcept(primal, primal);
  jets[primal] = arg;
}

LogicalResult TaylorJetPass::transformFor(scf::ForOp forOp,
                                          DenseMap<Value, Value> &jets,
                                          SmallVectorImpl<Operation *> &dead) {
  DenseSet<Value> active;
  for (auto &entry : jets)
    active.insert(entry.first);
  SmallVector<bool> activeArgs = getActiveIterArgs(forOp, active);

  OpBuilder builder(forOp);
  Location loc = forOp.getLoc();
  SmallVector<Value> inits;
  for (auto [init, isActive] : llvm::zip(forOp.getInitArgs(), activeArgs))
    inits.push_back(isActive ? getJetOrZero(builder, loc, init, jets) : init);
  auto newFor =
      scf::ForOp::create(builder, loc, forOp.getLowerBound(),
                         forOp.getUpperBound(), forOp.getStep(), inits);
  Block *body = newFor.getBody();
  while (!body->empty())
    body->back().erase();
  Block *oldBody = forOp.getBody();
  body->getOperations().splice(body->end(), oldBody->getOperations());
  oldBody->getArgument(0).replaceAllUsesWith(body->getArgument(0));

  // Jet iter_args: the body reads their coefficient 0 as the primal value.
  builder.setInsertionPointToStart(body);
  for (auto [oldArg, newArg, isActive] : llvm::zip(
           forOp.getRegionIterArgs(), newFor.getRegionIterArgs(), activeArgs)) {
    if (!isActive) {
      oldArg.replaceAllUsesWith(newArg);
      continue;
    }
    auto primal = CoeffOp::create(builder, loc, newArg, 0);
    oldArg.replaceAllUsesWith(primal);
    jets[primal] = newArg;
  }
  if (failed(transformOps(*body, builder.getInsertionPoint(), jets, dead)))
    return failure();

  auto yield = cast<scf::YieldOp>(body->getTerminator());
  builder.setInsertionPoint(yield);
  SmallVector<Value> yielded;
  for (auto [value, isActive] : llvm::zip(yield.getOperands(), activeArgs))
    yielded.push_back(
        isActive ? getJetOrZero(builder, yield.getLoc(), value, jets) : value);
  scf::YieldOp::create(builder, yield.getLoc(), yielded);
  yield.erase();

  for (auto [oldResult, newResult, isActive] :
       llvm::zip(forOp.getResults(), newFor.getResults(), activeArgs)) {
    if (isActive)
      jets[oldResult] = newResult;
    else
      oldResult.replaceAllUsesWith(newResult);
  }
  dead.push_back(forOp);
  return success();
}

LogicalResult TaylorJetPass::transformIf(scf::IfOp ifOp,
                                         DenseMap<Value, Value> &jets,
                                         SmallVectorImpl<Operation *> &dead) {
  DenseSet<Value> active;
  for (auto &entry : jets)
    active.insert(entry.first);
  SmallVector<bool> activeResults = getActiveResults(ifOp, active);

  SmallVector<Type> resultTypes;
  for (auto [type, isActive] : llvm::zip(ifOp.getResultTypes(), activeResults))
    resultTypes.push_back(isActive ? Type(getJetType(type)) : type);
  OpBuilder builder(ifOp);
  auto newIf = scf::IfOp::create(builder, ifOp.getLoc(), resultTypes,
                                 ifOp.getCondition(), /*addThenBlock=*/false,
                                 /*addElseBlock=*/false);
  newIf.getThenRegion().takeBody(ifOp.getThenRegion());
  newIf.getElseRegion().takeBody(ifOp.getElseRegion());
  for (Region *region : {&newIf.getThenRegion(), &newIf.getElseRegion()}) {
    if (region->empty())
      continue;
    Block &block = region->front();
    if (failed(transformOps(block, block.begin(), jets, dead)))
      return failure();
    auto yield = cast<scf::YieldOp>(block.getTerminator());
    builder.setInsertionPoint(yield);
    SmallVector<Value> yielded;
    for (auto [value, isActive] : llvm::zip(yield.getOperands(), activeResults))
      yielded.push_back(isActive
                            ? getJetOrZero(builder, yield.getLoc(), value, jets)
                            : value);
    scf::YieldOp::create(builder, yield.getLoc(), yielded);
    yield.erase();
  }

  for (auto [oldResult, newResult, isActive] :
       llvm::zip(ifOp.getResults(), newIf.getResults(), activeResults)) {
    if (isActive)
      jets[oldResult] = newResult;
    else
      oldResult.replaceAllUsesWith(newResult);
  }
  dead.push_back(ifOp);
  return success();
}

LogicalResult TaylorJetPass::transformCall(func::CallOp call,
                                           DenseMap<Value, Value> &jets,
                                           SmallVectorImpl<Operation *> &dead) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      call, call.getCalleeAttr());
  if (!callee || callee.isExternal())
    return call.emitError() << "taylor-jet: cannot push jets through the call "
                               "of '@"
                            << call.getCallee() << "': the callee has no body";
  SmallVector<bool> activeArgs;
  for (Value operand : call.getOperands())
    activeArgs.push_back(jets.count(operand) != 0);
  FailureOr<func::FuncOp> jetCallee = getJetCallee(callee, activeArgs, call);
  if (failed(jetCallee))
    return failure();

  OpBuilder builder(call);
  SmallVector<Value> operands;
  for (Value operand : call.getOperands()) {
    auto it = jets.find(operand);
    operands.push_back(it != jets.end() ? it->second : operand);
  }
  auto newCall =
      func::CallOp::create(builder, call.getLoc(), *jetCallee, operands);
  for (auto [oldResult, newResult] :
       llvm::zip(call.getResults(), newCall.getResults())) {
    if (isa<JetType>(newResult.getType()))
      jets[oldResult] = newResult;
    else
      oldResult.replaceAllUsesWith(newResult);
  }
  dead.push_back(call);
  return success();
}

FailureOr<func::FuncOp> TaylorJetPass::getJetCallee(func::FuncOp callee,
                                                    ArrayRef<bool> activeArgs,
                                                    Operation *call) {
  std::string name = (callee.getSymName() + "_jet").str();
  for (auto [i, isActive] : llvm::enumerate(activeArgs))
    if (isActive)
      name += "_" + std::to_string(i);
  if (auto it = jetCallees.find(name); it != jetCallees.end())
    return it->second;
  if (calleesInProgress.contains(callee))
    return call->emitError() << "taylor-jet: '@" << callee.getSymName()
                             << "' calls itself; recursive functions are not "
                                "supported";

  auto module = callee->getParentOfType<ModuleOp>();
  auto jetCallee = cast<func::FuncOp>(callee->clone());
  jetCallee.setSymName(name);
  jetCallee.setPrivate();
  SymbolTable(module).insert(jetCallee, std::next(Block::iterator(callee)));
  calleesInProgress.insert(callee);
  auto done = llvm::make_scope_exit([&] { calleesInProgress.erase(callee); });

  Block &entry = jetCallee.getBody().front();
  OpBuilder builder(&getContext());
  builder.setInsertionPointToStart(&entry);
  DenseMap<Value, Value> jets;
  for (auto [arg, isActive] : llvm::zip(entry.getArguments(), activeArgs))
    if (isActive)
      makeJetArgument(arg, builder, jets);
  SmallVector<Operation *> dead;
  if (failed(transformBlocks(jetCallee.getBody(), builder.getInsertionPoint(),
                             jets, dead))) {
    jetCallee.erase();
    return failure();
  }

  // Every floating-point tensor result is a jet, at each return.
  SmallVector<func::ReturnOp> returns(jetCallee.getOps<func::ReturnOp>());
  SmallVector<Value> results;
  for (func::ReturnOp ret : returns) {
    builder.setInsertionPoint(ret);
    results.clear();
    for (Value value : ret.getOperands())
      results.push_back(isFloatTensor(value.getType())
                            ? getJetOrZero(builder, ret.getLoc(), value, jets)
                            : value);
    func::ReturnOp::create(builder, ret.getLoc(), results);
    ret.erase();
  }
  jetCallee.setFunctionType(FunctionType::get(
      &getContext(), entry.getArgumentTypes(), ValueRange(results).getTypes()));
  if (failed(eraseDead(dead)))
    return failure();
  jetCallees[name] = jetCallee;
  return jetCallee;
}

RankedTensorType
TaylorJetPass::getSeedArgumentType(RankedTensorType primalType) {
  if (seed == "input")
    return cast<RankedTensorType>(getDirectionalType(primalType, directions));
  SmallVector<int64_t> shape = {static_cast<int64_t>(directions)};
  llvm::append_range(shape, primalType.getShape().drop_front());
  return RankedTensorType::get(shape, primalType.getElementType());
}

Value TaylorJetPass::buildSeed(OpBuilder &builder, Location loc, Value x0,
                               Value arg) {
  if (seed == "input")
    return arg;
  Value init = createEmptyCoefficient(builder, loc, x0, directions);
  if (seed == "broadcast")
    return linalg::BroadcastOp::create(builder, loc, arg, init,
                                       ArrayRef<int64_t>{1})
        ->getResult(0);
  // Identity: x_1[r, b, d] = (r == d).
  auto type = cast<RankedTensorType>(init.getType());
  MLIRContext *ctx = builder.getContext();
  AffineMap map = AffineMap::getMultiDimIdentityMap(3, ctx);
  SmallVector<utils::IteratorType> iterators(3, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{type}, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{map}, iterators,
      [&](OpBuilder &b, Location l, ValueRange) {
        Value r = linalg::IndexOp::create(b, l, 0);
        Value d = linalg::IndexOp::create(b, l, 2);
        Value same =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, r, d);
        Type element = type.getElementType();
        Value one =
            arith::ConstantOp::create(b, l, b.getFloatAttr(element, 1.0));
        Value zero =
            arith::ConstantOp::create(b, l, b.getFloatAttr(element, 0.0));
        linalg::YieldOp::create(
            b, l, ValueRange{arith::SelectOp::create(b, l, same, one, zero)});
      });
  return generic.getResult(0);
}

LogicalResult TaylorJetPass::wrap(Operation *op, OpBuilder &builder,
                                  DenseMap<Value, Value> &jets) {
  if (!isa<TaylorRuleOpInterface>(op))
    return op->emitError() << "no Taylor-mode rule for '" << op->getName()
                           << "'";
  Location loc = op->getLoc();
  // Operands: the op's, then non-constant values its regions capture.
  SmallVector<Value> inputs;
  for (Value v : op->getOperands()) {
    auto it = jets.find(v);
    inputs.push_back(it != jets.end() ? it->second : v);
  }
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  SmallVector<Value> capturedConstants, capturedValues;
  for (Value v : captured) {
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>())
      capturedConstants.push_back(v);
    else
      capturedValues.push_back(v);
  }
  llvm::append_range(inputs, capturedValues);

  SmallVector<Type> resultTypes;
  for (Type type : op->getResultTypes())
    resultTypes.push_back(
        isFloatTensor(type)
            ? Type(JetType::get(builder.getContext(), order, directions,
                                cast<RankedTensorType>(type), false))
            : type);

  auto propagate = PropagateOp::create(builder, loc, resultTypes, inputs,
                                       /*weights=*/Value(),
                                       /*static_weights=*/DenseF64ArrayAttr());
  Block *body = builder.createBlock(&propagate.getBody());
  IRMapping mapping;
  unsigned numOperands = op->getNumOperands();
  for (auto [i, input] : llvm::enumerate(inputs)) {
    BlockArgument arg =
        body->addArgument(PropagateOp::getPrimalType(input.getType()), loc);
    mapping.map(i < numOperands ? op->getOperand(i)
                                : capturedValues[i - numOperands],
                arg);
  }
  for (Value constant : capturedConstants)
    mapping.map(constant,
                builder.clone(*constant.getDefiningOp())->getResult(0));
  Operation *clone = builder.clone(*op, mapping);
  YieldOp::create(builder, loc, clone->getResults());
  builder.setInsertionPointAfter(propagate);

  for (auto [oldResult, newResult] :
       llvm::zip(op->getResults(), propagate.getResults())) {
    if (isa<JetType>(newResult.getType()))
      jets[oldResult] = newResult;
    else
      oldResult.replaceAllUsesWith(newResult);
  }
  return success();
}
