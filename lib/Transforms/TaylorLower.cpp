//===- TaylorLower.cpp - Lower taylor ops to tensor/linalg ----------------===//
//
// Implements the `taylor-lower` pass in two phases: `taylor.propagate` and
// `taylor.sum` are expanded in place with the Taylor rules, then a 1:N
// dialect conversion replaces every jet (arguments, results, values carried
// by func.call, scf regions and branches) by its coefficient tensors.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Rules/Rules.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/ControlFlow/Transforms/StructuralTypeConversions.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORLOWER
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// The weights of a sum over directions as a `tensor<R x elt>` value, or null
/// when they are all ones (absent, or static ones).
Value materializeWeights(OpBuilder &builder, Location loc, JetType jetType,
                         Value weights,
                         std::optional<ArrayRef<double>> staticWeights) {
  if (weights || !staticWeights)
    return weights;
  if (llvm::all_of(*staticWeights, [](double w) { return w == 1.0; }))
    return Value();
  Type elementType = jetType.getElementType();
  auto weightsType =
      RankedTensorType::get({jetType.getDirections()}, elementType);
  SmallVector<Attribute> values;
  for (double w : *staticWeights)
    values.push_back(builder.getFloatAttr(elementType, w));
  return arith::ConstantOp::create(builder, loc,
                                   DenseElementsAttr::get(weightsType, values));
}

/// `taylor.sum` -> `taylor.make_jet` of the unchanged lower coefficients and
/// the reduced top coefficient.
void lowerSum(SumOp op, MakeJetOp make, RewriterBase &rewriter) {
  auto jetType = cast<JetType>(op.getJet().getType());
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Value> coefficients(make.getCoefficients());
  Value top = coefficients.pop_back_val();
  Value weights = materializeWeights(rewriter, loc, jetType, op.getWeights(),
                                     op.getStaticWeights());
  coefficients.push_back(
      buildWeightedDirectionSum(rewriter, loc, top, weights));
  rewriter.replaceOpWithNewOp<MakeJetOp>(op, op.getType(), coefficients);
}

//===----------------------------------------------------------------------===//
// Phase 1: the rules expand taylor.propagate and local taylor.sum in place
//===----------------------------------------------------------------------===//

/// The coefficients of a jet operand of `user`: the operands of the
/// `taylor.make_jet` that built it (zero tensors become null), or else
/// `taylor.coeff` reads of the jet (a block argument, a call or scf result),
/// which the conversion phase forwards.
CoefficientList getCoefficients(Value jet, Operation *user,
                                RewriterBase &rewriter) {
  if (auto make = jet.getDefiningOp<MakeJetOp>()) {
    CoefficientList list(make.getCoefficients().begin(),
                         make.getCoefficients().end());
    for (unsigned k = 1; k < list.size(); ++k)
      if (isZeroTensor(list[k]))
        list[k] = Value();
    return list;
  }
  auto jetType = cast<JetType>(jet.getType());
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(user);
  CoefficientList list;
  for (unsigned k = 0; k <= jetType.getOrder(); ++k)
    list.push_back(CoeffOp::create(rewriter, user->getLoc(), jet, k));
  return list;
}

/// Expands `taylor.propagate` with the rule of the op it wraps: the body is
/// inlined (the wrapped op computes coefficient 0) and the rule emits the
/// higher coefficients.
LogicalResult lowerPropagate(PropagateOp propagate, RewriterBase &rewriter) {
  Operation *primalOp = propagate.getPrimalOp();
  auto rule = dyn_cast<TaylorRuleOpInterface>(primalOp);
  if (!rule)
    return propagate.emitOpError() << "cannot be lowered: no Taylor-mode rule "
                                      "for '"
                                   << primalOp->getName() << "'";
  JetType jetType;
  for (Type type : propagate.getInputs().getTypes())
    if (auto jet = dyn_cast<JetType>(type))
      jetType = jet;
  unsigned order = jetType.getOrder(), directions = jetType.getDirections();
  JetRuleContext context{order, directions};
  bool collapsed = propagate.isCollapsed();
  if (collapsed && !rule.isTopCoefficientLinear())
    return propagate.emitOpError()
           << "cannot be lowered: the rule of '" << primalOp->getName()
           << "' has no linear top coefficient, so it cannot take collapsed "
              "jets";

  // Coefficients of the propagate operands, then of the primal op operands.
  SmallVector<CoefficientList> inputs;
  for (Value input : propagate.getInputs()) {
    if (!isa<JetType>(input.getType())) {
      inputs.push_back(context.passive(input));
      continue;
    }
    inputs.push_back(getCoefficients(input, propagate, rewriter));
  }
  SmallVector<CoefficientList> operands;
  for (Value operand : primalOp->getOperands()) {
    auto arg = dyn_cast<BlockArgument>(operand);
    if (arg && arg.getOwner() == &propagate.getBody().front())
      operands.push_back(inputs[arg.getArgNumber()]);
    else
      operands.push_back(context.passive(operand));
  }

  // Inline the body: the primal op now computes coefficient 0.
  SmallVector<Value> primalInputs;
  for (const CoefficientList &list : inputs)
    primalInputs.push_back(list[0]);
  Block &body = propagate.getBody().front();
  auto yield = cast<YieldOp>(body.getTerminator());
  rewriter.inlineBlockBefore(&body, propagate, primalInputs);
  SmallVector<Value> primalResults(yield.getValues());
  rewriter.eraseOp(yield);
  for (auto [operand, list] : llvm::zip(primalOp->getOperands(), operands))
    list[0] = operand;

  SmallVector<CoefficientList> results;
  for (Value result : primalOp->getResults())
    results.push_back(context.passive(result));
  rewriter.setInsertionPoint(propagate);
  if (collapsed) {
    Value weights = materializeWeights(rewriter, propagate.getLoc(), jetType,
                                       propagate.getWeights(),
                                       propagate.getStaticWeights());
    if (failed(rule.propagateCollapsedJets(rewriter, context, operands, weights,
                                           results)))
      return failure();
  } else if (failed(rule.propagateJets(rewriter, context, operands, results))) {
    return failure();
  }

  SmallVector<Value> replacements;
  for (auto [result, list, primal] :
       llvm::zip(propagate.getResults(), results, primalResults)) {
    auto jetType = dyn_cast<JetType>(result.getType());
    if (!jetType) {
      replacements.push_back(primal);
      continue;
    }
    SmallVector<Value> coefficients = {primal};
    for (unsigned k = 1; k <= order; ++k) {
      if (list[k])
        coefficients.push_back(list[k]);
      else if (collapsed && k == order)
        coefficients.push_back(
            createZeroLike(rewriter, propagate.getLoc(), primal));
      else
        coefficients.push_back(createZeroCoefficient(
            rewriter, propagate.getLoc(), primal, directions));
    }
    replacements.push_back(
        MakeJetOp::create(rewriter, propagate.getLoc(), jetType, coefficients));
  }
  rewriter.replaceOp(propagate, replacements);
  return success();
}

//===----------------------------------------------------------------------===//
// Which ops may carry jets
//===----------------------------------------------------------------------===//

bool isJet(Type type) { return isa<JetType>(type); }

/// Whether the conversion phase has a pattern for the jets of `op`: the
/// taylor ops, and the ops whose operands, results and block arguments the
/// upstream structural conversions retype (func, scf, branches).
bool carriesJets(Operation *op) {
  return isa<MakeJetOp, CoeffOp, SumOp, PropagateOp, func::FuncOp, func::CallOp,
             func::ReturnOp, scf::ForOp, scf::IfOp, scf::WhileOp, scf::YieldOp,
             scf::ConditionOp, cf::BranchOp, cf::CondBranchOp, cf::SwitchOp>(
      op);
}

/// Whether `block` may have jet arguments, which the structural conversions
/// retype: any block of a function (the entry block with the signature, the
/// others with the branches to them) and the entry blocks of scf loops.
bool mayHaveJetBlockArguments(Block &block) {
  Operation *parent = block.getParentOp();
  if (isa<func::FuncOp>(parent))
    return true;
  return block.isEntryBlock() && isa<scf::ForOp, scf::WhileOp>(parent);
}

/// Reports every op that holds a jet but has no lowering for it, before any
/// rewriting: an unsupported user of a `taylor.make_jet` is reported on the
/// `make_jet`, any other op on itself.
LogicalResult verifyJetsLowerable(func::FuncOp func) {
  bool failedCheck = false;
  func.walk([&](Operation *op) {
    if (!carriesJets(op)) {
      if (llvm::any_of(op->getResultTypes(), isJet)) {
        op->emitOpError() << "cannot be lowered: it produces a jet, and "
                             "taylor-lower has no lowering for its jets";
        failedCheck = true;
        return;
      }
      for (Value operand : op->getOperands()) {
        if (!isJet(operand.getType()))
          continue;
        if (auto make = operand.getDefiningOp<MakeJetOp>())
          make.emitOpError()
              << "cannot be lowered: its jet is used by '" << op->getName()
              << "', which has no lowering for jet operands";
        else
          op->emitOpError() << "cannot be lowered: it has a jet operand, and "
                               "taylor-lower has no lowering for its jets";
        failedCheck = true;
        return;
      }
    }
    for (Region &region : op->getRegions())
      for (Block &block : region)
        if (llvm::any_of(block.getArgumentTypes(), isJet) &&
            !mayHaveJetBlockArguments(block)) {
          op->emitOpError() << "cannot be lowered: a block of its region has "
                               "a jet argument, which taylor-lower cannot "
                               "retype";
          failedCheck = true;
          return;
        }
  });
  return failure(failedCheck);
}

//===----------------------------------------------------------------------===//
// Phase 2: jets become coefficient tensors (1:N conversion)
//===----------------------------------------------------------------------===//

/// Maps `!taylor.jet<K, R, T>` to its `K + 1` coefficient tensor types and
/// every other type to itself.
class JetTypeConverter : public TypeConverter {
public:
  JetTypeConverter() {
    addConversion([](Type type) { return type; });
    addConversion(
        [](JetType jet, SmallVectorImpl<Type> &results) -> LogicalResult {
          for (unsigned k = 0; k <= jet.getOrder(); ++k)
            results.push_back(jet.getCoefficientType(k));
          return success();
        });
  }
};

/// `taylor.make_jet` -> its coefficient operands.
struct MakeJetLowering : public OpConversionPattern<MakeJetOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MakeJetOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> coefficients;
    for (ValueRange coefficient : adaptor.getCoefficients())
      llvm::append_range(coefficients, coefficient);
    rewriter.replaceOpWithMultiple(op, {coefficients});
    return success();
  }
};

/// `taylor.coeff %j[k]` -> coefficient `k` of the converted jet.
struct CoeffLowering : public OpConversionPattern<CoeffOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CoeffOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ValueRange coefficients = adaptor.getJet();
    uint64_t index = op.getIndex();
    if (index >= coefficients.size())
      return rewriter.notifyMatchFailure(op, "coefficient index out of range");
    rewriter.replaceOp(op, coefficients[index]);
    return success();
  }
};

/// `taylor.sum` of a jet that phase 1 could not see built (a block argument,
/// a call or scf result): the lower coefficients pass through, the top one is
/// reduced over the directions.
struct SumLowering : public OpConversionPattern<SumOp> {
  SumLowering(const TypeConverter &converter, MLIRContext *ctx,
              unsigned &numSums)
      : OpConversionPattern(converter, ctx), numSums(numSums) {}

  LogicalResult
  matchAndRewrite(SumOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto jetType = cast<JetType>(op.getJet().getType());
    SmallVector<Value> coefficients(adaptor.getJet());
    if (coefficients.size() != jetType.getNumCoefficients())
      return rewriter.notifyMatchFailure(op, "jet not converted to "
                                             "coefficients");
    // The weights are a plain tensor: the conversion leaves them as they are.
    Value weights = materializeWeights(rewriter, op.getLoc(), jetType,
                                       op.getWeights(), op.getStaticWeights());
    Value top = coefficients.pop_back_val();
    coefficients.push_back(
        buildWeightedDirectionSum(rewriter, op.getLoc(), top, weights));
    rewriter.replaceOpWithMultiple(op, {coefficients});
    ++numSums;
    return success();
  }

  unsigned &numSums;
};

/// Replaces the jets of `func` (arguments, results, values flowing through
/// calls, scf regions and branches) by their coefficient tensors.
LogicalResult convertJets(func::FuncOp func, unsigned &numSums) {
  MLIRContext *ctx = func.getContext();
  JetTypeConverter converter;
  ConversionTarget target(*ctx);
  target.addIllegalOp<MakeJetOp, CoeffOp, SumOp, PropagateOp>();
  // The blocks after the entry block are retyped by the branches to them.
  target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
    return converter.isSignatureLegal(op.getFunctionType());
  });
  // Calls, returns, branches and the ops that the patterns create (tensor,
  // linalg, arith) are legal once no operand or result is a jet.
  target.markUnknownOpDynamicallyLegal(
      [&](Operation *op) { return converter.isLegal(op); });

  RewritePatternSet patterns(ctx);
  patterns.add<MakeJetLowering, CoeffLowering>(converter, ctx);
  patterns.add<SumLowering>(converter, ctx, numSums);
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 converter);
  populateCallOpTypeConversionPattern(patterns, converter);
  populateReturnOpTypeConversionPattern(patterns, converter);
  scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                       target);
  cf::populateCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                     target);
  return applyPartialConversion(func, target, std::move(patterns));
}

} // namespace

LogicalResult mlir::taylor::lowerTaylorOps(func::FuncOp func,
                                           TaylorLowerCounts *counts) {
  if (failed(verifyJetsLowerable(func)))
    return failure();

  // Phase 1: expand taylor.propagate and taylor.sum in place, in program
  // order, so that the jets of their operands are built by the make_jet ops
  // that expanding their producers created (a sum of a seed can feed a
  // collapsed propagate) and known-zero coefficients stay visible to the
  // rules. Jets that arrive otherwise are read with taylor.coeff.
  SmallVector<Operation *> jetOps;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<PropagateOp, SumOp>(op))
      jetOps.push_back(op);
  });
  IRRewriter rewriter(func.getContext());
  unsigned sums = 0;
  for (Operation *op : jetOps) {
    if (auto sum = dyn_cast<SumOp>(op)) {
      // Sums of other jets are lowered by the conversion.
      if (auto make = sum.getJet().getDefiningOp<MakeJetOp>()) {
        lowerSum(sum, make, rewriter);
        ++sums;
      }
      continue;
    }
    if (failed(lowerPropagate(cast<PropagateOp>(op), rewriter)))
      return failure();
    if (counts)
      ++counts->propagates;
  }

  // Phase 2: every jet becomes its coefficient tensors.
  if (failed(convertJets(func, sums)))
    return func.emitOpError()
           << "taylor-lower could not replace its jets by coefficient tensors";

  // Fold what the expansion left (no patterns: folding and dead code).
  if (failed(applyPatternsGreedily(func, RewritePatternSet(func.getContext()))))
    return func.emitOpError() << "taylor-lower did not converge";
  if (counts)
    counts->sums += sums;
  return success();
}

namespace {

struct TaylorLowerPass : public taylor::impl::TaylorLowerBase<TaylorLowerPass> {
  using Base::Base;

  void runOnOperation() override {
    TaylorLowerCounts counts;
    if (failed(lowerTaylorOps(getOperation(), &counts)))
      signalPassFailure();
    numPropagatesLowered += counts.propagates;
    numSumsLowered += counts.sums;
  }
};

} // namespace
