//===- LinalgTaylorRules.cpp - Taylor-mode rules of linalg ops ------------===//
//
// One model for every structured op: the higher coefficients of its results
// are computed by a new `linalg.generic` whose iteration space is the op's
// with a leading parallel dimension over the R directions, and whose body is
// the op's scalar body pushed through the scalar Taylor rules
// (ScalarTaylorRuleOpInterface). Zero coefficients are tracked as null values
// and never materialized; outputs that turn out to be zero are dropped.
//
// For a reduction whose accumulator feeds a nonlinear scalar op (e.g. a max
// reduction), the running primal accumulator is carried along per direction.
//
// Collapsed jets: the same generic computes f_1 .. f_{K-1} per direction and
// sums the nonlinear part of the top coefficient, Σ_r w_r N_K^(r), over the
// directions in place (the direction loop becomes a reduction, the summed
// top output has no direction dimension), starting from the linear part
// J · X_K. No [R, ...] tensor of N_K is materialized.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/JetArithmetic.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// What the generated generic computes; refined between build attempts.
struct BuildConfig {
  /// includeOutput[o][k]: result o's coefficient k is an output (k >= 1).
  SmallVector<SmallVector<bool>> includeOutput;
  /// accumulate[o][k]: out_k is a live block argument (else zero).
  SmallVector<SmallVector<bool>> accumulate;
  /// primalAccumulator[o]: carry the running primal of output o per direction.
  SmallVector<bool> primalAccumulator;
  /// Collapsed mode: output (o, K) sums the top coefficient over directions
  /// into topInits[o] (no direction dimension), weighted by `weights`
  /// (`tensor<R x elt>`, null for ones).
  bool collapsedTop = false;
  Value weights;
  SmallVector<Value> topInits;

  bool isCollapsedTop(unsigned k) const {
    return collapsedTop && k == includeOutput.front().size() - 1;
  }
  bool sumsTop() const {
    if (!collapsedTop)
      return false;
    return llvm::any_of(includeOutput, [](const SmallVector<bool> &flags) {
      return flags.back();
    });
  }
};

/// What a build attempt found out.
struct BuildResult {
  bool failed = false;
  /// yieldedNonZero[o][k]: the body yields a non-zero coefficient k for o.
  SmallVector<SmallVector<bool>> yieldedNonZero;
  /// primalOutUsed[o]: the primal of the accumulator of output o is live.
  SmallVector<bool> primalOutUsed;
};

/// Marks the weights among the inputs of the generated generic.
constexpr int kWeightsArg = -1;

class StructuredOpPropagation {
public:
  StructuredOpPropagation(linalg::LinalgOp op, OpBuilder &builder,
                          const JetRuleContext &ctx,
                          ArrayRef<CoefficientList> operands)
      : op(op), b(builder), ctx(ctx), operands(operands), loc(op->getLoc()),
        numLoops(op.getNumLoops()), numOutputs(op.getNumDpsInits()) {}

  LogicalResult run(SmallVectorImpl<CoefficientList> &results) {
    return run(results, BuildConfig());
  }

  /// Collapsed propagation (`propagateCollapsedJets`), fused where the op is
  /// parallel or accumulates additively; by parts otherwise.
  LogicalResult runCollapsed(Value weights,
                             SmallVectorImpl<CoefficientList> &results);

private:
  /// Runs from `config`, whose collapsed-mode fields are set by the caller.
  LogicalResult run(SmallVectorImpl<CoefficientList> &results,
                    BuildConfig config);
  /// Whether each float output's yielded value is `out + t` with `out` used
  /// only there (or the op has no reduction), so that the top coefficient
  /// can be summed over directions in the same loop nest.
  bool accumulatesAdditively();
  AffineMap shiftedMap(AffineMap map) const { return map.shiftDims(1); }
  AffineMap coefficientMap(AffineMap map) const {
    SmallVector<AffineExpr> exprs = {b.getAffineDimExpr(0)};
    llvm::append_range(exprs, shiftedMap(map).getResults());
    return AffineMap::get(numLoops + 1, 0, exprs, b.getContext());
  }
  bool hasReduction() {
    return llvm::any_of(op.getIteratorTypesArray(), [](auto t) {
      return t == utils::IteratorType::reduction;
    });
  }
  const CoefficientList &initJet(unsigned o) {
    return operands[op.getDpsInitOperand(o)->getOperandNumber()];
  }

  /// Builds the coefficient generic for `config` (nullptr on failure).
  linalg::GenericOp build(const BuildConfig &config, BuildResult &result);
  /// Pushes the scalar body through the scalar rules.
  LogicalResult buildBody(OpBuilder &nb, Block *newBlock,
                          const BuildConfig &config,
                          ArrayRef<std::pair<int, unsigned>> inputArgs,
                          BuildResult &result);

  linalg::LinalgOp op;
  OpBuilder &b;
  const JetRuleContext &ctx;
  ArrayRef<CoefficientList> operands;
  Location loc;
  unsigned numLoops;
  unsigned numOutputs;
};

} // namespace

bool StructuredOpPropagation::accumulatesAdditively() {
  if (!hasReduction())
    return true;
  Block *block = op.getBlock();
  auto yield = cast<linalg::YieldOp>(block->getTerminator());
  for (unsigned o = 0; o < numOutputs; ++o) {
    if (!isa<FloatType>(getElementTypeOrSelf(op->getResult(o).getType())))
      continue;
    BlockArgument out =
        block->getArgument(op.getDpsInitOperand(o)->getOperandNumber());
    auto add = yield.getValues()[o].getDefiningOp<arith::AddFOp>();
    if (!add || !out.hasOneUse() ||
        (add.getLhs() != out && add.getRhs() != out))
      return false;
  }
  return true;
}

LogicalResult StructuredOpPropagation::runCollapsed(
    Value weights, SmallVectorImpl<CoefficientList> &results) {
  auto rule = cast<TaylorRuleOpInterface>(op.getOperation());
  if (!accumulatesAdditively())
    return propagateCollapsedJetsByParts(rule, b, ctx, operands, weights,
                                         results);
  FailureOr<SmallVector<Value>> linear =
      applyJacobianToTop(rule, b, ctx, operands, results);
  if (failed(linear))
    return failure();

  // The lower coefficients and N_K^(r): the operands' summed top
  // coefficients entered J · X_K above.
  SmallVector<CoefficientList> lower(operands.begin(), operands.end());
  for (CoefficientList &list : lower)
    list[ctx.order] = Value();
  BuildConfig config;
  config.collapsedTop = true;
  config.weights = weights;
  for (auto [o, top] : llvm::enumerate(*linear)) {
    Value result = op->getResult(o);
    bool isFloat = isa<FloatType>(getElementTypeOrSelf(result.getType()));
    config.topInits.push_back(top || !isFloat ? top
                                              : createZeroLike(b, loc, result));
  }
  StructuredOpPropagation fused(op, b, ctx, lower);
  if (failed(fused.run(results, config)))
    return failure();
  // Outputs whose top has no nonlinear part are just J · X_K.
  for (auto [list, top] : llvm::zip(results, *linear))
    if (!list[ctx.order])
      list[ctx.order] = top;
  return success();
}

/// The input of `generic` that `result` merely copies (the body yields the
/// input's block argument, read with the same indexing map as the result,
/// in a loop nest without reductions), or null.
static Value getCopiedInput(linalg::GenericOp generic, OpResult result) {
  if (generic.getNumReductionLoops() != 0)
    return Value();
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  auto arg =
      dyn_cast<BlockArgument>(yield.getValues()[result.getResultNumber()]);
  if (!arg || arg.getOwner() != generic.getBody() ||
      arg.getArgNumber() >= generic.getNumDpsInputs())
    return Value();
  OpOperand *input = generic.getDpsInputOperand(arg.getArgNumber());
  OpOperand *init = generic.getDpsInitOperand(result.getResultNumber());
  if (input->get().getType() != result.getType() ||
      generic.getMatchingIndexingMap(input) !=
          generic.getMatchingIndexingMap(init))
    return Value();
  return input->get();
}

LogicalResult
StructuredOpPropagation::run(SmallVectorImpl<CoefficientList> &results,
                             BuildConfig config) {
  if (!op.hasPureTensorSemantics())
    return op->emitOpError()
           << "has no Taylor-mode rule on buffers; only tensors are supported";
  if (op->getNumRegions() != 1 || op->getRegion(0).empty())
    return op->emitOpError() << "has no scalar body to differentiate";

  unsigned order = ctx.order;
  config.includeOutput.assign(numOutputs, SmallVector<bool>(order + 1, true));
  config.accumulate.assign(numOutputs, SmallVector<bool>(order + 1, false));
  config.primalAccumulator.assign(numOutputs, false);
  for (unsigned o = 0; o < numOutputs; ++o) {
    // Outputs of other element types (e.g. the indices of an argmax) have no
    // Taylor coefficients.
    if (!isa<FloatType>(getElementTypeOrSelf(op->getResult(o).getType()))) {
      config.includeOutput[o].assign(order + 1, false);
      continue;
    }
    for (unsigned k = 1; k <= order; ++k)
      config.accumulate[o][k] =
          !config.isCollapsedTop(k) && static_cast<bool>(initJet(o)[k]);
  }

  // Refine the configuration until a build confirms it (a few iterations at
  // most: accumulate and primalAccumulator only switch on, and which outputs
  // are non-zero only grows with them).
  for (unsigned attempt = 0;; ++attempt) {
    BuildResult result;
    linalg::GenericOp generic = build(config, result);
    if (result.failed)
      return failure();
    bool changed = false;
    for (unsigned o = 0; o < numOutputs; ++o) {
      if (hasReduction() && result.primalOutUsed[o] &&
          !config.primalAccumulator[o]) {
        config.primalAccumulator[o] = true;
        changed = true;
      }
      for (unsigned k = 1; k <= order; ++k) {
        bool nonZero = result.yieldedNonZero[o][k];
        // A reduction accumulates whatever its body yields (a summed top
        // accumulates in its own output, over the directions too).
        if (hasReduction() && nonZero && !config.accumulate[o][k] &&
            !config.isCollapsedTop(k)) {
          config.accumulate[o][k] = true;
          changed = true;
        }
        // An output is needed if it is non-zero or accumulated; a dropped
        // one can become needed again once more coefficients of the
        // accumulator are live (e.g. f_2 of a product reduction needs the
        // accumulated f_1).
        bool needed = nonZero || config.accumulate[o][k];
        if (config.includeOutput[o][k] != needed) {
          config.includeOutput[o][k] = needed;
          changed = true;
        }
      }
    }
    if (changed && attempt < 8) {
      if (generic)
        generic->erase();
      continue;
    }
    if (changed)
      return op->emitOpError() << "Taylor-mode rule did not converge";
    // Map the generic's results to coefficients; a result that is a copy of
    // an input coefficient (e.g. f_k = x_k through an add of a passive bias)
    // is that input, and the copy is left dead.
    unsigned resultIndex = 0;
    for (unsigned o = 0; o < numOutputs; ++o)
      for (unsigned k = 1; k <= order; ++k)
        if (config.includeOutput[o][k]) {
          OpResult result = generic->getResult(resultIndex++);
          Value copied = getCopiedInput(generic, result);
          results[o][k] = copied ? copied : result;
        }
    return success();
  }
}

linalg::GenericOp StructuredOpPropagation::build(const BuildConfig &config,
                                                 BuildResult &result) {
  unsigned order = ctx.order;
  unsigned directions = ctx.directions;
  SmallVector<AffineMap> opMaps = op.getIndexingMapsArray();
  result.yieldedNonZero.assign(numOutputs, SmallVector<bool>(order + 1, false));
  result.primalOutUsed.assign(numOutputs, false);

  SmallVector<Value> inputs, outputs;
  SmallVector<AffineMap> maps;
  // Which original block argument each new input block argument carries:
  // (original operand number, coefficient k).
  SmallVector<std::pair<int, unsigned>> inputArgs;

  for (OpOperand *input : op.getDpsInputOperands()) {
    unsigned number = input->getOperandNumber();
    const CoefficientList &jet = operands[number];
    AffineMap map = opMaps[number];
    inputs.push_back(jet[0]);
    maps.push_back(shiftedMap(map));
    inputArgs.push_back({static_cast<int>(number), 0});
    if (!isa<RankedTensorType>(jet[0].getType()))
      continue; // A scalar operand: passive.
    for (unsigned k = 1; k <= order; ++k) {
      if (!jet[k])
        continue;
      inputs.push_back(jet[k]);
      maps.push_back(coefficientMap(map));
      inputArgs.push_back({static_cast<int>(number), k});
    }
  }
  // The primal init value, read where the body reads its accumulator and no
  // running primal is carried (a parallel op, or a linear reduction).
  for (unsigned o = 0; o < numOutputs; ++o) {
    OpOperand *init = op.getDpsInitOperand(o);
    if (config.primalAccumulator[o])
      continue;
    inputs.push_back(init->get());
    maps.push_back(shiftedMap(opMaps[init->getOperandNumber()]));
    inputArgs.push_back({static_cast<int>(init->getOperandNumber()), 0});
  }

  // The weights of the summed top coefficient, indexed by direction.
  if (config.sumsTop() && config.weights) {
    inputs.push_back(config.weights);
    maps.push_back(AffineMap::get(numLoops + 1, 0, b.getAffineDimExpr(0)));
    inputArgs.push_back({kWeightsArg, 0});
  }

  SmallVector<Type> resultTypes;
  for (unsigned o = 0; o < numOutputs; ++o) {
    OpOperand *init = op.getDpsInitOperand(o);
    Value primalResult = op->getResult(o);
    AffineMap map = opMaps[init->getOperandNumber()];
    for (unsigned k = 1; k <= order; ++k) {
      if (!config.includeOutput[o][k])
        continue;
      if (config.isCollapsedTop(k)) {
        outputs.push_back(config.topInits[o]);
        maps.push_back(shiftedMap(map));
        resultTypes.push_back(config.topInits[o].getType());
        continue;
      }
      // Accumulated coefficients start from the init's (zero if passive);
      // the others are written everywhere and need no initial value.
      Value initK =
          config.accumulate[o][k]
              ? coefficientOrZero(b, loc, initJet(o), k, directions)
              : createEmptyCoefficient(b, loc, primalResult, directions);
      outputs.push_back(initK);
      maps.push_back(coefficientMap(map));
      resultTypes.push_back(initK.getType());
    }
    if (config.primalAccumulator[o]) {
      Value initPrimal = init->get();
      Value empty = createEmptyCoefficient(b, loc, initPrimal, directions);
      Value broadcast = linalg::BroadcastOp::create(b, loc, initPrimal, empty,
                                                    ArrayRef<int64_t>{0})
                            ->getResult(0);
      outputs.push_back(broadcast);
      maps.push_back(coefficientMap(map));
      resultTypes.push_back(broadcast.getType());
    }
  }

  SmallVector<utils::IteratorType> iterators = {
      config.sumsTop() ? utils::IteratorType::reduction
                       : utils::IteratorType::parallel};
  llvm::append_range(iterators, op.getIteratorTypesArray());

  bool bodyFailed = false;
  auto generic = linalg::GenericOp::create(
      b, loc, resultTypes, inputs, outputs, maps, iterators,
      [&](OpBuilder &nb, Location, ValueRange) {
        Block *block = nb.getInsertionBlock();
        bodyFailed = failed(buildBody(nb, block, config, inputArgs, result));
      });
  if (bodyFailed) {
    generic->erase();
    result.failed = true;
    return nullptr;
  }
  // Drop dead scalar code so that liveness below is exact.
  Block *body = generic.getBody();
  eraseDeadOps(body);
  // Which placeholder primal accumulators are still read.
  unsigned argIndex = 0;
  for (auto [origArg, k] : inputArgs) {
    (void)k;
    BlockArgument arg = body->getArgument(argIndex++);
    if (origArg == kWeightsArg)
      continue;
    OpOperand &operand = op->getOpOperand(origArg);
    if (op.isDpsInit(&operand) && !arg.use_empty())
      result.primalOutUsed[op.getTiedOpResult(&operand).getResultNumber()] =
          true;
  }
  return generic;
}

LogicalResult StructuredOpPropagation::buildBody(
    OpBuilder &nb, Block *newBlock, const BuildConfig &config,
    ArrayRef<std::pair<int, unsigned>> inputArgs, BuildResult &result) {
  unsigned order = ctx.order;
  Block *oldBlock = op.getBlock();
  // Scalar jets of the old block arguments.
  DenseMap<Value, CoefficientList> jets;
  for (BlockArgument arg : oldBlock->getArguments())
    jets[arg] = CoefficientList(order + 1, Value());
  unsigned argIndex = 0;
  Value weight;
  for (auto [origArg, k] : inputArgs) {
    BlockArgument newArg = newBlock->getArgument(argIndex++);
    if (origArg == kWeightsArg)
      weight = newArg;
    else
      jets[oldBlock->getArgument(origArg)][k] = newArg;
  }
  // The accumulators of the summed top coefficients.
  SmallVector<Value> topAccumulators(numOutputs, Value());
  // Output block arguments, in the order of the outputs above.
  for (unsigned o = 0; o < numOutputs; ++o) {
    BlockArgument oldOut =
        oldBlock->getArgument(op.getDpsInitOperand(o)->getOperandNumber());
    for (unsigned k = 1; k <= order; ++k) {
      if (!config.includeOutput[o][k])
        continue;
      BlockArgument newArg = newBlock->getArgument(argIndex++);
      if (config.isCollapsedTop(k))
        topAccumulators[o] = newArg;
      else if (config.accumulate[o][k])
        jets[oldOut][k] = newArg;
    }
    if (config.primalAccumulator[o])
      jets[oldOut][0] = newBlock->getArgument(argIndex++);
  }

  IRMapping primal;
  for (auto &[oldValue, jet] : jets)
    if (jet[0])
      primal.map(oldValue, jet[0]);

  for (Operation &oldOp : oldBlock->without_terminator()) {
    // Index ops see the new leading direction dimension.
    if (auto index = dyn_cast<linalg::IndexOp>(oldOp)) {
      Value newIndex =
          linalg::IndexOp::create(nb, index.getLoc(), index.getDim() + 1);
      primal.map(index.getResult(), newIndex);
      jets[index.getResult()] = ctx.passive(newIndex);
      continue;
    }
    if (oldOp.getNumRegions() != 0) {
      oldOp.emitOpError() << "with regions is not supported in the body of '"
                          << op->getName() << "' by the Taylor-mode transform";
      return failure();
    }
    Operation *newOp = nb.clone(oldOp, primal);
    SmallVector<CoefficientList> operandJets;
    bool active = false;
    for (Value operand : oldOp.getOperands()) {
      auto it = jets.find(operand);
      CoefficientList jet = it != jets.end()
                                ? it->second
                                : ctx.passive(primal.lookupOrDefault(operand));
      jet[0] = primal.lookupOrDefault(operand);
      active |= !isPassive(jet);
      operandJets.push_back(jet);
    }
    bool floatResults = llvm::all_of(newOp->getResultTypes(),
                                     [](Type t) { return isa<FloatType>(t); });
    SmallVector<CoefficientList> resultJets;
    for (Value r : newOp->getResults())
      resultJets.push_back(ctx.passive(r));
    if (active && floatResults) {
      auto rule = dyn_cast<ScalarTaylorRuleOpInterface>(newOp);
      if (!rule) {
        oldOp.emitError() << "no Taylor-mode rule for '" << oldOp.getName()
                          << "' in the body of '" << op->getName() << "'";
        return failure();
      }
      if (failed(rule.propagateScalarJets(nb, ctx, operandJets, resultJets)))
        return failure();
    }
    for (auto [oldResult, jet] : llvm::zip(oldOp.getResults(), resultJets))
      jets[oldResult] = jet;
  }

  // Yield the coefficients (and running primals) of the outputs.
  auto oldYield = cast<linalg::YieldOp>(oldBlock->getTerminator());
  SmallVector<Value> yields;
  for (unsigned o = 0; o < numOutputs; ++o) {
    Value yielded = oldYield.getValues()[o];
    auto it = jets.find(yielded);
    CoefficientList jet = it != jets.end()
                              ? it->second
                              : ctx.passive(primal.lookupOrDefault(yielded));
    Type scalarType = primal.lookupOrDefault(yielded).getType();
    JetBuilder jb(nb, loc, scalarType);
    for (unsigned k = 1; k <= order; ++k) {
      if (!isa<FloatType>(scalarType))
        continue;
      result.yieldedNonZero[o][k] = static_cast<bool>(jet[k]);
      if (!config.includeOutput[o][k])
        continue;
      if (config.isCollapsedTop(k))
        yields.push_back(jb.add(topAccumulators[o],
                                weight ? jb.mul(weight, jet[k]) : jet[k]));
      else
        yields.push_back(jb.orZero(jet[k]));
    }
    if (config.primalAccumulator[o])
      yields.push_back(primal.lookupOrDefault(yielded));
  }
  linalg::YieldOp::create(nb, loc, yields);
  return success();
}

namespace {

/// The model attached to every structured op.
template <typename OpTy>
struct StructuredOpModel
    : public TaylorRuleOpInterface::ExternalModel<StructuredOpModel<OpTy>,
                                                  OpTy> {
  LogicalResult propagateJets(Operation *op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    return StructuredOpPropagation(cast<linalg::LinalgOp>(op), builder, context,
                                   operands)
        .run(results);
  }

  LogicalResult
  propagateCollapsedJets(Operation *op, OpBuilder &builder,
                         const JetRuleContext &context,
                         ArrayRef<CoefficientList> operands, Value weights,
                         SmallVectorImpl<CoefficientList> &results) const {
    return StructuredOpPropagation(cast<linalg::LinalgOp>(op), builder, context,
                                   operands)
        .runCollapsed(weights, results);
  }
};

template <typename... OpTys> void attachToAll(MLIRContext *ctx) {
  (OpTys::template attachInterface<StructuredOpModel<OpTys>>(*ctx), ...);
}

} // namespace

void mlir::taylor::registerLinalgTaylorRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    attachToAll<
#define GET_OP_LIST
#include "mlir/Dialect/Linalg/IR/LinalgStructuredOps.cpp.inc"
        >(ctx);
  });
}
