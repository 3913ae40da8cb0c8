//===- LinalgAdjointRules.cpp - Adjoint rules of linalg ops ---------------===//
//
// One model for every structured op (`linalg.generic` and the named ops,
// through their scalar bodies). For each active operand `x` the adjoint is a
// new `linalg.generic` over the op's iteration space:
//
// - its inputs are the op's inputs (and the inits its body reads) through
//   the op's indexing maps, and the result adjoints through the results'
//   maps;
// - its output is the adjoint of `x` accumulated so far (or zeros) through
//   `x`'s map; loops that map does not use become `reduction` iterators, so
//   the sum over them is a reduction, never a racing accumulation;
// - its body recomputes the primal body (nothing scalar is stored), then
//   pulls the result adjoints back through the scalar ops in reverse order
//   and yields `acc + x̄`.
//
// The scalar vector-Jacobian products come from the scalar Taylor rules
// (`ScalarTaylorRuleOpInterface`) at order 1: for a scalar op the Jacobian
// is a row, so `ȳ · ∂f/∂x_i` is the first-order coefficient of the result
// when operand `i` has first-order coefficient `ȳ` and the others zero. Every
// scalar op with a Taylor rule therefore has an adjoint, and the two modes
// cannot disagree on a derivative.
//
// Accumulators: a result whose body ignores its init has no init adjoint; a
// result accumulated additively (`out + t`, `out` used once) passes its
// adjoint to the init unchanged; in a loop nest without reductions, an init
// that the body reads is one more input. Other reductions (max, product)
// are refused with a diagnostic.
//
// A matrix product's adjoints are again contractions (`out + ȳ · b`), which
// `taylor-contractions-to-gemm` turns into BLAS calls.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/JetArithmetic.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// How a result's body block reads its accumulator (the init's block
/// argument).
enum class InitUse {
  /// Not at all: the init only gives the shape.
  Unread,
  /// `yield out + t` with `out` used nowhere else: the result adjoint flows
  /// to the init unchanged, and `t` receives it at every iteration.
  Additive,
  /// Read otherwise, in a loop nest without reductions: the init is one more
  /// input of an elementwise computation.
  Elementwise,
};

/// The adjoint generics of one structured op.
class StructuredOpAdjoint {
public:
  StructuredOpAdjoint(linalg::LinalgOp op, OpBuilder &builder,
                      AdjointState &state)
      : op(op), b(builder), state(state), loc(op->getLoc()) {}

  LogicalResult run();

private:
  /// Classifies how each result's body reads its init; fails with a
  /// diagnostic for accumulations that have no adjoint here.
  LogicalResult classifyInits();
  /// Builds the adjoint of operand `number` and accumulates it.
  LogicalResult buildOperandAdjoint(unsigned number);
  /// Pulls the result adjoints back through the cloned scalar body; returns
  /// the adjoint of `target` (null if zero).
  FailureOr<Value> pullBack(OpBuilder &nb, Block *oldBlock,
                            ArrayRef<Operation *> cloned,
                            const IRMapping &mapping,
                            ArrayRef<std::pair<unsigned, Value>> seeds,
                            Value target);

  linalg::LinalgOp op;
  OpBuilder &b;
  AdjointState &state;
  Location loc;
  SmallVector<InitUse> initUses;
  /// The adjoint of each result (null: zero or not a float).
  SmallVector<Value> resultAdjoints;
};

} // namespace

LogicalResult StructuredOpAdjoint::classifyInits() {
  Block *block = op.getBlock();
  auto yield = cast<linalg::YieldOp>(block->getTerminator());
  bool hasReduction = op.getNumReductionLoops() != 0;
  for (unsigned o = 0, e = op.getNumDpsInits(); o < e; ++o) {
    BlockArgument out =
        block->getArgument(op.getDpsInitOperand(o)->getOperandNumber());
    if (out.use_empty()) {
      initUses.push_back(InitUse::Unread);
      continue;
    }
    auto add = yield.getValues()[o].getDefiningOp<arith::AddFOp>();
    if (add && out.hasOneUse() &&
        (add.getLhs() == out || add.getRhs() == out) &&
        add.getLhs() != add.getRhs()) {
      initUses.push_back(InitUse::Additive);
      continue;
    }
    if (!hasReduction) {
      initUses.push_back(InitUse::Elementwise);
      continue;
    }
    if (!resultAdjoints[o]) {
      // No adjoint flows through this result: its accumulation is irrelevant.
      initUses.push_back(InitUse::Unread);
      continue;
    }
    return op->emitOpError()
           << "has no adjoint rule: result #" << o
           << " is a reduction whose accumulator is not a sum ('out + t'); "
              "reverse mode supports sum reductions only";
  }
  return success();
}

LogicalResult StructuredOpAdjoint::run() {
  if (!op.hasPureTensorSemantics())
    return op->emitOpError()
           << "has no adjoint rule on buffers; only tensors are supported";
  if (op->getNumRegions() != 1 || op->getRegion(0).empty())
    return op->emitOpError() << "has no scalar body to differentiate";
  for (OpResult result : op->getResults()) {
    bool isFloat = isa<FloatType>(getElementTypeOrSelf(result.getType()));
    resultAdjoints.push_back(isFloat ? state.getAdjoint(result) : Value());
  }
  if (llvm::all_of(resultAdjoints, [](Value v) { return !v; }))
    return success();
  if (failed(classifyInits()))
    return failure();

  // Inputs (and inits read elementwise), each one generic.
  for (OpOperand &operand : op->getOpOperands()) {
    if (!state.isActive(operand.get()))
      continue;
    if (op.isDpsInit(&operand)) {
      unsigned o = op.getTiedOpResult(&operand).getResultNumber();
      if (!resultAdjoints[o])
        continue;
      if (initUses[o] == InitUse::Additive) {
        state.addToAdjoint(b, loc, operand.get(), resultAdjoints[o]);
        continue;
      }
      if (initUses[o] == InitUse::Unread)
        continue;
    }
    if (failed(buildOperandAdjoint(operand.getOperandNumber())))
      return failure();
  }
  return success();
}

/// The dims `map` reads, or failure if a result is neither a loop dimension
/// nor the constant 0 (a broadcast unit dimension), or a dimension repeats.
/// `dropped` lists the positions of the constant results.
static FailureOr<SmallVector<unsigned>>
getProjectedDims(AffineMap map, SmallVectorImpl<int64_t> &dropped) {
  SmallVector<unsigned> dims;
  for (auto [i, expr] : llvm::enumerate(map.getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (llvm::is_contained(dims, dim.getPosition()))
        return failure();
      dims.push_back(dim.getPosition());
      continue;
    }
    auto constant = dyn_cast<AffineConstantExpr>(expr);
    if (!constant || constant.getValue() != 0)
      return failure();
    dropped.push_back(i);
  }
  return dims;
}

LogicalResult StructuredOpAdjoint::buildOperandAdjoint(unsigned number) {
  Value primal = op->getOperand(number);
  auto type = dyn_cast<RankedTensorType>(primal.getType());
  if (!type)
    return op->emitOpError() << "has no adjoint rule for its non-tensor "
                                "operand #"
                             << number;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned numLoops = op.getNumLoops();
  SmallVector<int64_t> dropped;
  FailureOr<SmallVector<unsigned>> dims =
      getProjectedDims(maps[number], dropped);
  if (failed(dims))
    return op->emitOpError()
           << "has no adjoint rule: operand #" << number
           << " is read through " << AffineMapAttr::get(maps[number])
           << ", not a projection of the loops (e.g. a convolution window)";

  // The accumulator, without the broadcast unit dimensions.
  Value accumulated = state.getAdjoint(primal);
  Value init = accumulated ? accumulated : createZeroLike(b, loc, primal);
  SmallVector<ReassociationIndices> reassociation;
  if (!dropped.empty()) {
    SmallVector<int64_t> shape;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!llvm::is_contained(dropped, d))
        shape.push_back(type.getDimSize(d));
    auto reduced = RankedTensorType::get(shape, type.getElementType());
    std::optional<SmallVector<ReassociationIndices>> groups =
        getReassociationIndicesForReshape(type, reduced);
    if (!groups)
      return op->emitOpError() << "has no adjoint rule: cannot drop the unit "
                                  "dimensions of operand #"
                               << number;
    reassociation = *groups;
    init = tensor::CollapseShapeOp::create(b, loc, reduced, init,
                                           reassociation);
  }

  // Inputs: the op's inputs, the inits read elementwise, the result
  // adjoints. Unused ones are erased by canonicalization.
  SmallVector<Value> inputs;
  SmallVector<AffineMap> newMaps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    inputs.push_back(input->get());
    newMaps.push_back(maps[input->getOperandNumber()]);
  }
  for (unsigned o = 0, e = op.getNumDpsInits(); o < e; ++o) {
    if (initUses[o] != InitUse::Elementwise)
      continue;
    OpOperand *initOperand = op.getDpsInitOperand(o);
    inputs.push_back(initOperand->get());
    newMaps.push_back(maps[initOperand->getOperandNumber()]);
  }
  SmallVector<unsigned> adjointResults;
  for (auto [o, adjoint] : llvm::enumerate(resultAdjoints)) {
    if (!adjoint)
      continue;
    inputs.push_back(adjoint);
    newMaps.push_back(maps[op.getDpsInitOperand(o)->getOperandNumber()]);
    adjointResults.push_back(o);
  }
  SmallVector<AffineExpr> outExprs;
  for (unsigned d : *dims)
    outExprs.push_back(b.getAffineDimExpr(d));
  newMaps.push_back(AffineMap::get(numLoops, 0, outExprs, b.getContext()));
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::reduction);
  for (unsigned d : *dims)
    iterators[d] = utils::IteratorType::parallel;

  Block *oldBlock = op.getBlock();
  bool bodyFailed = false;
  bool nonZero = false;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, newMaps,
      iterators, [&](OpBuilder &nb, Location, ValueRange args) {
        // Map the old block arguments and recompute the primal body.
        IRMapping mapping;
        unsigned next = 0;
        for (OpOperand *input : op.getDpsInputOperands())
          mapping.map(oldBlock->getArgument(input->getOperandNumber()),
                      args[next++]);
        for (unsigned o = 0, e = op.getNumDpsInits(); o < e; ++o) {
          BlockArgument out = oldBlock->getArgument(
              op.getDpsInitOperand(o)->getOperandNumber());
          if (initUses[o] == InitUse::Elementwise) {
            mapping.map(out, args[next++]);
          } else if (initUses[o] == InitUse::Additive) {
            // Only the dead primal `out + t` reads it.
            Type elementType = out.getType();
            mapping.map(out, arith::ConstantOp::create(
                                 nb, loc, elementType,
                                 nb.getZeroAttr(elementType)));
          }
        }
        SmallVector<std::pair<unsigned, Value>> seeds;
        for (unsigned o : adjointResults)
          seeds.push_back({o, args[next++]});
        Value acc = args[next];
        SmallVector<Operation *> cloned;
        for (Operation &oldOp : oldBlock->without_terminator())
          cloned.push_back(nb.clone(oldOp, mapping));
        Value target = mapping.lookup(oldBlock->getArgument(number));
        FailureOr<Value> adjoint =
            pullBack(nb, oldBlock, cloned, mapping, seeds, target);
        if (failed(adjoint)) {
          bodyFailed = true;
          linalg::YieldOp::create(nb, loc, acc);
          return;
        }
        nonZero = static_cast<bool>(*adjoint);
        JetBuilder jb(nb, loc, acc.getType());
        linalg::YieldOp::create(nb, loc, jb.add(acc, *adjoint));
      });
  if (bodyFailed) {
    generic->erase();
    return failure();
  }
  // Drop the recomputed scalar code nothing reads.
  Block *body = generic.getBody();
  SmallVector<Operation *> bodyOps = llvm::to_vector(llvm::map_range(
      body->without_terminator(), [](Operation &o) { return &o; }));
  for (Operation *bodyOp : llvm::reverse(bodyOps))
    if (isOpTriviallyDead(bodyOp))
      bodyOp->erase();
  if (!nonZero) {
    generic->erase();
    return success();
  }
  Value result = generic.getResult(0);
  if (!dropped.empty())
    result = tensor::ExpandShapeOp::create(b, loc, type, result, reassociation,
                                           tensor::getMixedSizes(b, loc, primal));
  state.setAdjoint(primal, result);
  return success();
}

FailureOr<Value>
StructuredOpAdjoint::pullBack(OpBuilder &nb, Block *oldBlock,
                              ArrayRef<Operation *> cloned,
                              const IRMapping &mapping,
                              ArrayRef<std::pair<unsigned, Value>> seeds,
                              Value target) {
  JetRuleContext context{/*order=*/1, /*directions=*/1};
  // Scalars that depend on the target (the others have no adjoint to pass).
  DenseSet<Value> varied = {target};
  for (Operation *newOp : cloned) {
    if (llvm::any_of(newOp->getOperands(),
                     [&](Value v) { return varied.contains(v); }))
      for (Value r : newOp->getResults())
        varied.insert(r);
  }

  DenseMap<Value, Value> adjoints;
  auto accumulate = [&](Value primal, Value contribution) {
    if (!contribution)
      return;
    JetBuilder jb(nb, loc, primal.getType());
    Value &slot = adjoints[primal];
    slot = jb.add(slot, contribution);
  };
  auto yield = cast<linalg::YieldOp>(oldBlock->getTerminator());
  for (auto [o, seed] : seeds) {
    Value yielded = mapping.lookupOrDefault(yield.getValues()[o]);
    if (varied.contains(yielded))
      accumulate(yielded, seed);
  }

  for (auto [oldOp, newOp] :
       llvm::reverse(llvm::zip(oldBlock->without_terminator(), cloned))) {
    if (!llvm::any_of(newOp->getResults(),
                      [&](Value r) { return adjoints.lookup(r); }))
      continue;
    if (newOp->getNumResults() != 1 ||
        !isa<FloatType>(newOp->getResult(0).getType()))
      continue; // Piecewise constant (comparisons, integer and index math).
    Value resultAdjoint = adjoints.lookup(newOp->getResult(0));
    auto rule = dyn_cast<ScalarTaylorRuleOpInterface>(newOp);
    if (!rule)
      return oldOp.emitError()
             << "no derivative rule for '" << oldOp.getName()
             << "' in the body of '" << op->getName() << "'";
    for (unsigned i = 0, e = newOp->getNumOperands(); i < e; ++i) {
      Value operand = newOp->getOperand(i);
      if (!varied.contains(operand) || !isa<FloatType>(operand.getType()))
        continue;
      // ȳ · ∂f/∂x_i: the order-1 rule with tangent ȳ on operand i only.
      SmallVector<CoefficientList> operandJets;
      for (Value v : newOp->getOperands())
        operandJets.push_back(context.passive(v));
      operandJets[i][1] = resultAdjoint;
      SmallVector<CoefficientList> resultJets = {
          context.passive(newOp->getResult(0))};
      if (failed(rule.propagateScalarJets(nb, context, operandJets,
                                          resultJets)))
        return failure();
      accumulate(operand, resultJets[0][1]);
    }
  }
  return adjoints.lookup(target);
}

namespace {

/// The model attached to every structured op.
template <typename OpTy>
struct StructuredOpAdjointModel
    : public AdjointRuleOpInterface::ExternalModel<
          StructuredOpAdjointModel<OpTy>, OpTy> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &builder,
                             AdjointState &state) const {
    return StructuredOpAdjoint(cast<linalg::LinalgOp>(op), builder, state)
        .run();
  }
};

template <typename... OpTys> void attachToAll(MLIRContext *ctx) {
  (OpTys::template attachInterface<StructuredOpAdjointModel<OpTys>>(*ctx),
   ...);
}

} // namespace

void mlir::taylor::registerLinalgAdjointRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    attachToAll<
#define GET_OP_LIST
#include "mlir/Dialect/Linalg/IR/LinalgStructuredOps.cpp.inc"
        >(ctx);
  });
}
