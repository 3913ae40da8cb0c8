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
  /// `yield max(out, a)` (or min), or `yield select(a > run, t, out)` where
  /// `run` is such a running maximum of `a` (Taylor mode's coefficients of
  /// a max): the result is the value at the *first* iteration of the
  /// reduction where `a` attains the extremum, and only that iteration
  /// receives the adjoint (PyTorch's rule for `max(dim)`; ties go to the
  /// first).
  First,
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
  /// Recognizes output `o` as `InitUse::First`.
  bool matchFirst(unsigned o);
  /// For each output deciding a `First` output that has an adjoint: the
  /// linear index (over the reduction loops) of the first iteration where
  /// its compared value attains the result, a tensor of i64 like the result.
  LogicalResult buildFirstIndices();
  /// The linear index of the current iteration over the reduction loops
  /// (row-major), as i64, emitted in a body.
  Value buildReductionIndex(OpBuilder &nb);
  /// Builds the adjoint of operand `number` and accumulates it.
  LogicalResult buildOperandAdjoint(unsigned number);
  /// Pulls the result adjoints back through the cloned scalar body; returns
  /// the adjoint of `target` (null if zero).
  FailureOr<Value> pullBack(OpBuilder &nb, Block *oldBlock,
                            ArrayRef<Operation *> cloned,
                            ArrayRef<std::pair<Value, Value>> seeds,
                            Value target);

  linalg::LinalgOp op;
  OpBuilder &b;
  AdjointState &state;
  Location loc;
  SmallVector<InitUse> initUses;
  /// The adjoint of each result (null: zero or not a float).
  SmallVector<Value> resultAdjoints;
  /// `First` outputs: the body value that receives the adjoint, and the
  /// output whose running extremum decides the iteration.
  DenseMap<unsigned, std::pair<Value, unsigned>> firsts;
  /// Deciding outputs: the body value compared, whether a maximum, and the
  /// tensor of first indices (once built).
  DenseMap<unsigned, std::pair<Value, bool>> extrema;
  DenseMap<unsigned, Value> firstIndices;
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
    initUses.push_back(InitUse::Unread);
  }
  // Max/min reductions and the values they select, then the rest.
  for (unsigned o = 0, e = op.getNumDpsInits(); o < e; ++o)
    if (initUses[o] == InitUse::Unread && matchFirst(o))
      initUses[o] = InitUse::First;
  for (unsigned o = 0, e = op.getNumDpsInits(); o < e; ++o) {
    BlockArgument out =
        block->getArgument(op.getDpsInitOperand(o)->getOperandNumber());
    if (initUses[o] != InitUse::Unread || out.use_empty() || !resultAdjoints[o])
      continue; // Without an adjoint, the accumulation is irrelevant.
    return op->emitOpError()
           << "has no adjoint rule: result #" << o
           << " is a reduction whose accumulator is neither a sum ('out + t') "
              "nor a max/min (or a value selected by one)";
  }
  for (auto &[o, first] : firsts) {
    if (!resultAdjoints[o])
      continue;
    if (state.isActive(op.getDpsInitOperand(o)->get()))
      return op->emitOpError()
             << "has no adjoint rule: result #" << o
             << " is a max/min reduction whose init depends on a "
                "differentiated argument";
    // The position of the first extremum is linearized over the reduction
    // loops (`buildReductionIndex`), whose sizes must be static; parallel
    // loops (a dynamic batch) may be dynamic.
    for (auto [size, type] :
         llvm::zip_equal(op.getStaticLoopRanges(), op.getIteratorTypesArray()))
      if (type == utils::IteratorType::reduction && ShapedType::isDynamic(size))
        return op->emitOpError() << "has no adjoint rule: result #" << o
                                 << " is a max/min reduction over loops of "
                                    "dynamic size";
  }
  return success();
}

/// `max(out, a)` / `min(out, a)` (either order): `a` and whether a maximum.
static std::optional<std::pair<Value, bool>> matchExtremum(Value value,
                                                           Value out) {
  Operation *def = value.getDefiningOp();
  if (!def || def->getNumOperands() != 2)
    return std::nullopt;
  bool isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(def);
  if (!isMax && !isa<arith::MinimumFOp, arith::MinNumFOp>(def))
    return std::nullopt;
  Value lhs = def->getOperand(0), rhs = def->getOperand(1);
  if (lhs == out && rhs != out)
    return std::make_pair(rhs, isMax);
  if (rhs == out && lhs != out)
    return std::make_pair(lhs, isMax);
  return std::nullopt;
}

bool StructuredOpAdjoint::matchFirst(unsigned o) {
  Block *block = op.getBlock();
  auto yield = cast<linalg::YieldOp>(block->getTerminator());
  auto outArg = [&](unsigned i) {
    return block->getArgument(op.getDpsInitOperand(i)->getOperandNumber());
  };
  // Values computed from an accumulator: the compared and selected values
  // must not be.
  DenseSet<Value> fromOuts;
  for (unsigned i = 0, e = op.getNumDpsInits(); i < e; ++i)
    fromOuts.insert(outArg(i));
  for (Operation &bodyOp : block->without_terminator())
    if (llvm::any_of(bodyOp.getOperands(),
                     [&](Value v) { return fromOuts.contains(v); }))
      for (Value r : bodyOp.getResults())
        fromOuts.insert(r);
  // A running extremum of output p: max(out_p, a), out_p read only there
  // and by strict comparisons `a > out_p` (`a < out_p` for a minimum).
  auto extremumOf = [&](unsigned p) -> std::optional<std::pair<Value, bool>> {
    BlockArgument out = outArg(p);
    auto match = matchExtremum(yield.getValues()[p], out);
    if (!match || fromOuts.contains(match->first))
      return std::nullopt;
    for (Operation *user : out.getUsers()) {
      if (user == yield.getValues()[p].getDefiningOp())
        continue;
      auto cmp = dyn_cast<arith::CmpFOp>(user);
      if (!cmp || cmp.getLhs() != match->first || cmp.getRhs() != out ||
          cmp.getPredicate() != (match->second ? arith::CmpFPredicate::OGT
                                               : arith::CmpFPredicate::OLT))
        return std::nullopt;
    }
    return match;
  };
  if (auto extremum = extremumOf(o)) {
    extrema[o] = *extremum;
    firsts[o] = {extremum->first, o};
    return true;
  }
  // select(a > out_p, t, out_o): the value t where a first attains max a.
  BlockArgument out = outArg(o);
  auto select = yield.getValues()[o].getDefiningOp<arith::SelectOp>();
  if (!select || !out.hasOneUse() || select.getFalseValue() != out ||
      fromOuts.contains(select.getTrueValue()))
    return false;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!cmp)
    return false;
  for (unsigned p = 0, e = op.getNumDpsInits(); p < e; ++p) {
    if (p == o || cmp.getRhs() != outArg(p))
      continue;
    auto extremum = extremumOf(p);
    if (!extremum || extremum->first != cmp.getLhs())
      return false;
    extrema[p] = *extremum;
    firsts[o] = {select.getTrueValue(), p};
    return true;
  }
  return false;
}

Value StructuredOpAdjoint::buildReductionIndex(OpBuilder &nb) {
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  Value index = arith::ConstantIndexOp::create(nb, loc, 0);
  for (auto [d, type] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (type != utils::IteratorType::reduction)
      continue;
    Value size = arith::ConstantIndexOp::create(nb, loc, sizes[d]);
    Value scaled = arith::MulIOp::create(nb, loc, index, size);
    index = arith::AddIOp::create(nb, loc, scaled,
                                  linalg::IndexOp::create(nb, loc, d));
  }
  return arith::IndexCastOp::create(nb, loc, nb.getI64Type(), index);
}

LogicalResult StructuredOpAdjoint::buildFirstIndices() {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Block *oldBlock = op.getBlock();
  for (auto &[o, first] : firsts) {
    unsigned p = first.second;
    if (!resultAdjoints[o] || firstIndices.count(p))
      continue;
    // min over the iterations where the compared value equals the result.
    Value result = op->getResult(p);
    AffineMap resultMap = maps[op.getDpsInitOperand(p)->getOperandNumber()];
    SmallVector<Value> inputs;
    SmallVector<AffineMap> newMaps;
    for (OpOperand *input : op.getDpsInputOperands()) {
      inputs.push_back(input->get());
      newMaps.push_back(maps[input->getOperandNumber()]);
    }
    inputs.push_back(result);
    newMaps.push_back(resultMap);
    newMaps.push_back(resultMap);
    auto resultType = cast<RankedTensorType>(result.getType());
    auto indexType = resultType.clone(b.getI64Type());
    Value empty = tensor::EmptyOp::create(
        b, loc, tensor::getMixedSizes(b, loc, result), b.getI64Type());
    Value largest = arith::ConstantOp::create(
        b, loc, b.getI64IntegerAttr(std::numeric_limits<int64_t>::max()));
    Value init = linalg::FillOp::create(b, loc, largest, empty).getResult(0);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{indexType}, inputs, ValueRange{init}, newMaps,
        op.getIteratorTypesArray(),
        [&](OpBuilder &nb, Location, ValueRange args) {
          IRMapping mapping;
          unsigned next = 0;
          for (OpOperand *input : op.getDpsInputOperands())
            mapping.map(oldBlock->getArgument(input->getOperandNumber()),
                        args[next++]);
          Value extremum = args[next++];
          for (unsigned i = 0, e = op.getNumDpsInits(); i < e; ++i) {
            BlockArgument out = oldBlock->getArgument(
                op.getDpsInitOperand(i)->getOperandNumber());
            mapping.map(
                out, arith::ConstantOp::create(nb, loc, out.getType(),
                                               nb.getZeroAttr(out.getType())));
          }
          for (Operation &oldOp : oldBlock->without_terminator())
            nb.clone(oldOp, mapping);
          Value compared = mapping.lookup(extrema[p].first);
          Value attains = arith::CmpFOp::create(
              nb, loc, arith::CmpFPredicate::OEQ, compared, extremum);
          Value index = buildReductionIndex(nb);
          Value acc = args[next];
          Value smaller = arith::MinSIOp::create(nb, loc, index, acc);
          linalg::YieldOp::create(nb, loc,
                                  ValueRange{arith::SelectOp::create(
                                      nb, loc, attains, smaller, acc)});
        });
    eraseDeadOps(generic.getBody());
    firstIndices[p] = generic.getResult(0);
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
  if (failed(classifyInits()) || failed(buildFirstIndices()))
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
           << "has no adjoint rule: operand #" << number << " is read through "
           << AffineMapAttr::get(maps[number])
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
    init =
        tensor::CollapseShapeOp::create(b, loc, reduced, init, reassociation);
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
  // The first indices of the extrema that decide `First` outputs.
  SmallVector<unsigned> deciders;
  for (unsigned o : adjointResults) {
    if (initUses[o] != InitUse::First)
      continue;
    unsigned p = firsts[o].second;
    if (llvm::is_contained(deciders, p))
      continue;
    deciders.push_back(p);
    inputs.push_back(firstIndices[p]);
    newMaps.push_back(maps[op.getDpsInitOperand(p)->getOperandNumber()]);
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
            continue;
          }
          // Otherwise only dead primal code reads it (`out + t`, the
          // running extremum, the accumulators of results without adjoint).
          mapping.map(out,
                      arith::ConstantOp::create(nb, loc, out.getType(),
                                                nb.getZeroAttr(out.getType())));
        }
        SmallVector<Value> outputAdjoints;
        for (unsigned o : adjointResults) {
          (void)o;
          outputAdjoints.push_back(args[next++]);
        }
        DenseMap<unsigned, Value> firstIndexArgs;
        for (unsigned p : deciders)
          firstIndexArgs[p] = args[next++];
        Value acc = args[next];
        SmallVector<Operation *> cloned;
        for (Operation &oldOp : oldBlock->without_terminator())
          cloned.push_back(nb.clone(oldOp, mapping));
        // Seeds: each result's adjoint at the value it yields, or at the
        // selected value of the first iteration attaining the extremum.
        auto yield = cast<linalg::YieldOp>(oldBlock->getTerminator());
        SmallVector<std::pair<Value, Value>> seeds;
        Value index;
        for (auto [o, adjoint] : llvm::zip(adjointResults, outputAdjoints)) {
          if (initUses[o] != InitUse::First) {
            seeds.push_back(
                {mapping.lookupOrDefault(yield.getValues()[o]), adjoint});
            continue;
          }
          if (!index)
            index = buildReductionIndex(nb);
          Value isFirst =
              arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq, index,
                                    firstIndexArgs[firsts[o].second]);
          Value zero = arith::ConstantOp::create(
              nb, loc, adjoint.getType(), nb.getZeroAttr(adjoint.getType()));
          seeds.push_back(
              {mapping.lookupOrDefault(firsts[o].first),
               arith::SelectOp::create(nb, loc, isFirst, adjoint, zero)});
        }
        Value target = mapping.lookup(oldBlock->getArgument(number));
        FailureOr<Value> adjoint =
            pullBack(nb, oldBlock, cloned, seeds, target);
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
  eraseDeadOps(generic.getBody());
  if (!nonZero) {
    generic->erase();
    return success();
  }
  Value result = generic.getResult(0);
  if (!dropped.empty())
    result =
        tensor::ExpandShapeOp::create(b, loc, type, result, reassociation,
                                      tensor::getMixedSizes(b, loc, primal));
  state.setAdjoint(primal, result);
  return success();
}

FailureOr<Value> StructuredOpAdjoint::pullBack(
    OpBuilder &nb, Block *oldBlock, ArrayRef<Operation *> cloned,
    ArrayRef<std::pair<Value, Value>> seeds, Value target) {
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
  for (auto [value, seed] : seeds)
    if (varied.contains(value))
      accumulate(value, seed);

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
      return oldOp.emitError() << "no derivative rule for '" << oldOp.getName()
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
      if (failed(
              rule.propagateScalarJets(nb, context, operandJets, resultJets)))
        return failure();
      accumulate(operand, resultJets[0][1]);
    }
  }
  return adjoints.lookup(target);
}

namespace {

/// The model attached to every structured op.
template <typename OpTy>
struct StructuredOpAdjointModel : public AdjointRuleOpInterface::ExternalModel<
                                      StructuredOpAdjointModel<OpTy>, OpTy> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &builder,
                             AdjointState &state) const {
    return StructuredOpAdjoint(cast<linalg::LinalgOp>(op), builder, state)
        .run();
  }
};

template <typename... OpTys> void attachToAll(MLIRContext *ctx) {
  (OpTys::template attachInterface<StructuredOpAdjointModel<OpTys>>(*ctx), ...);
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
