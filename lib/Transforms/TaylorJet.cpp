//===- TaylorJet.cpp - The Taylor-mode transform --------------------------===//
//
// Implements `taylor-jet`: clones a function into one that pushes jets
// through it, wrapping every op that depends on the differentiated input in
// a `taylor.propagate` op.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/Rules.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/STLExtras.h"

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
  /// Wraps the active op `op` in a taylor.propagate.
  LogicalResult wrap(Operation *op, OpBuilder &builder,
                     DenseMap<Value, Value> &jets);

  SmallVector<unsigned> inputOrders;
};

} // namespace

func::FuncOp TaylorJetPass::findFunction() {
  ModuleOp module = getOperation();
  if (!functionName.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(functionName);
    if (!func || func.isExternal()) {
      module.emitError() << "taylor-jet: no function '@" << functionName
                         << "' with a body in the module";
      return nullptr;
    }
    return func;
  }
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal())
      candidates.push_back(func);
  if (candidates.size() != 1) {
    module.emitError() << "taylor-jet: the module has " << candidates.size()
                       << " functions with a body; name one with "
                          "'function=<name>'";
    return nullptr;
  }
  return candidates.front();
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
  if (!weights.empty() && weights.size() != directions)
    return func.emitError()
           << "taylor-jet: 'weights' has " << weights.size()
           << " values but 'directions' is " << directions.getValue();
  inputOrders.clear();
  if (inputCoefficients.empty()) {
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
  if (SymbolTable::lookupSymbolIn(getOperation(), name)) {
    func.emitError() << "taylor-jet: a symbol '@" << name
                     << "' already exists; choose another 'jet-function'";
    return signalPassFailure();
  }
  auto jetFunc = cast<func::FuncOp>(func->clone());
  jetFunc.setSymName(name);
  getOperation().insert(std::next(Block::iterator(func)), jetFunc);
  if (failed(transform(jetFunc))) {
    jetFunc.erase();
    return signalPassFailure();
  }
}

LogicalResult TaylorJetPass::transform(func::FuncOp jetFunc) {
  Block &entry = jetFunc.getBody().front();
  if (!jetFunc.getBody().hasOneBlock())
    return jetFunc.emitError()
           << "taylor-jet: functions with more than one block are not "
              "supported";
  MLIRContext *ctx = &getContext();
  Location loc = jetFunc.getLoc();
  BlockArgument x0 = entry.getArgument(argument);
  auto primalType = cast<RankedTensorType>(x0.getType());
  auto jetType = JetType::get(ctx, order, directions, primalType, false);
  RankedTensorType coefficientType = jetType.getDirectionalType();

  // New arguments x_k after x_0.
  SmallVector<Value> coefficients(order + 1, Value());
  coefficients[0] = x0;
  for (auto [i, k] : llvm::enumerate(inputOrders)) {
    unsigned index = argument + 1 + i;
    if (failed(jetFunc.insertArgument(index, coefficientType, {}, loc)))
      return jetFunc.emitError() << "taylor-jet: could not add an argument";
    coefficients[k] = entry.getArgument(index);
  }
  Value weightsArg;
  if (runtimeWeights) {
    unsigned index = argument + 1 + inputOrders.size();
    auto weightsType =
        RankedTensorType::get({directions}, primalType.getElementType());
    if (failed(jetFunc.insertArgument(index, weightsType, {}, loc)))
      return jetFunc.emitError() << "taylor-jet: could not add an argument";
    weightsArg = entry.getArgument(index);
  }
  OpBuilder builder(ctx);
  builder.setInsertionPointToStart(&entry);
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
  // build the zero input coefficients).
  DenseMap<Value, Value> jets = {{x0, seed}};
  SmallVector<Operation *> wrapped;
  for (Operation &op : llvm::make_early_inc_range(
           llvm::make_range(std::next(Block::iterator(seed)),
                            Block::iterator(entry.getTerminator())))) {
    bool active = llvm::any_of(op.getOperands(),
                               [&](Value v) { return jets.count(v) != 0; });
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(op.getRegions(), captured);
    for (Value v : captured)
      if (jets.count(v))
        return op.emitError() << "taylor-jet: '" << op.getName()
                              << "' uses a value that depends on the "
                                 "differentiated input inside a region";
    if (!active)
      continue;
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
    wrapped.push_back(&op);
    ++numPropagated;
  }

  // Return f_0 .. f_K of every floating-point tensor result.
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  builder.setInsertionPoint(ret);
  SmallVector<Value> results;
  for (Value v : ret.getOperands()) {
    if (!isFloatTensor(v.getType())) {
      results.push_back(v);
      continue;
    }
    auto it = jets.find(v);
    if (it == jets.end()) {
      // Does not depend on the input: zero higher coefficients.
      results.push_back(v);
      Value zeroCoefficient =
          createZeroCoefficient(builder, ret.getLoc(), v, directions);
      for (unsigned k = 1; k < order; ++k)
        results.push_back(zeroCoefficient);
      results.push_back(sumTop ? createZeroLike(builder, ret.getLoc(), v)
                               : zeroCoefficient);
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
    for (unsigned k = 0; k <= order; ++k)
      results.push_back(CoeffOp::create(builder, ret.getLoc(), jet, k));
  }
  func::ReturnOp::create(builder, ret.getLoc(), results);
  ret.erase();
  jetFunc.setFunctionType(FunctionType::get(ctx, entry.getArgumentTypes(),
                                            ValueRange(results).getTypes()));

  // The original active ops are dead now.
  for (Operation *op : llvm::reverse(wrapped)) {
    if (!op->use_empty())
      return op->emitError() << "taylor-jet: internal error: a wrapped op "
                                "still has uses";
    op->erase();
  }
  return success();
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
