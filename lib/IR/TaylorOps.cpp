//===- TaylorOps.cpp - Taylor dialect operations --------------------------===//
//
// Verifiers, type inference, builders and folders of the `taylor` ops.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::taylor;

#define GET_OP_CLASSES
#include "Taylor/IR/TaylorOps.cpp.inc"

/// The type of a jet operand during type inference, or a diagnostic (the
/// operand constraint has not been verified yet when inference runs).
static FailureOr<JetType>
inferJetOperandType(Value jet, std::optional<Location> location) {
  auto jetType = dyn_cast<JetType>(jet.getType());
  if (!jetType)
    return emitOptionalError(location, "expected a jet operand, got ",
                             jet.getType());
  return jetType;
}

//===----------------------------------------------------------------------===//
// MakeJetOp
//===----------------------------------------------------------------------===//

LogicalResult MakeJetOp::verify() {
  JetType jetType = getType();
  unsigned expected = jetType.getNumCoefficients();
  if (getCoefficients().size() != expected)
    return emitOpError() << "expects " << expected
                         << " coefficients for a jet of order "
                         << jetType.getOrder() << ", got "
                         << getCoefficients().size();
  for (auto [k, coefficient] : llvm::enumerate(getCoefficients())) {
    RankedTensorType want = jetType.getCoefficientType(k);
    if (coefficient.getType() != want)
      return emitOpError() << "coefficient " << k << " must have type " << want
                           << ", got " << coefficient.getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// CoeffOp
//===----------------------------------------------------------------------===//

LogicalResult CoeffOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location,
    CoeffOp::Adaptor adaptor, SmallVectorImpl<Type> &inferredReturnTypes) {
  FailureOr<JetType> jetType = inferJetOperandType(adaptor.getJet(), location);
  if (failed(jetType))
    return failure();
  int64_t index = adaptor.getIndex();
  if (index < 0 || index > static_cast<int64_t>(jetType->getOrder()))
    return emitOptionalError(location, "coefficient index ", index,
                             " is out of range for a jet of order ",
                             jetType->getOrder());
  inferredReturnTypes.push_back(jetType->getCoefficientType(index));
  return success();
}

OpFoldResult CoeffOp::fold(FoldAdaptor adaptor) {
  int64_t index = getIndex();
  // coeff(make_jet(c_0, ..., c_K))[k] -> c_k
  if (auto make = getJet().getDefiningOp<MakeJetOp>())
    return make.getCoefficients()[index];
  // Note: coeff(sum(j))[k] for k < K equals coeff(j)[k], but is deliberately
  // not folded that way: reading the lower coefficients through the sum
  // leaves the sum as the only user of `j`, which `taylor-collapse` needs.
  return {};
}

//===----------------------------------------------------------------------===//
// SumOp
//===----------------------------------------------------------------------===//

LogicalResult
SumOp::inferReturnTypes(MLIRContext *context, std::optional<Location> location,
                        SumOp::Adaptor adaptor,
                        SmallVectorImpl<Type> &inferredReturnTypes) {
  FailureOr<JetType> jetType = inferJetOperandType(adaptor.getJet(), location);
  if (failed(jetType))
    return failure();
  inferredReturnTypes.push_back(jetType->getCollapsedType());
  return success();
}

void SumOp::build(OpBuilder &builder, OperationState &state, Value jet,
                  Value weights) {
  auto jetType = cast<JetType>(jet.getType());
  build(builder, state, jetType.getCollapsedType(), jet, weights,
        /*static_weights=*/DenseF64ArrayAttr());
}

void SumOp::build(OpBuilder &builder, OperationState &state, Value jet,
                  ArrayRef<double> staticWeights) {
  auto jetType = cast<JetType>(jet.getType());
  build(builder, state, jetType.getCollapsedType(), jet, /*weights=*/Value(),
        builder.getDenseF64ArrayAttr(staticWeights));
}

/// Verifies the weights of a sum over the directions of jets of type
/// `jetType`: runtime `weights` or `staticWeights` (not both), one per
/// direction, runtime ones of the jet's element type.
static LogicalResult
verifySumWeights(Operation *op, JetType jetType, Value weights,
                 std::optional<ArrayRef<double>> staticWeights) {
  if (weights && staticWeights)
    return op->emitOpError()
           << "takes either runtime 'weights' or 'static_weights', not both";
  int64_t numDirections = jetType.getDirections();
  if (weights) {
    auto weightsType = cast<RankedTensorType>(weights.getType());
    if (weightsType.getDimSize(0) != numDirections)
      return op->emitOpError()
             << "expects " << numDirections
             << " weights (one per direction), got " << weightsType;
    if (weightsType.getElementType() != jetType.getElementType())
      return op->emitOpError() << "weights must have the jet's element type "
                               << jetType.getElementType() << ", got "
                               << weightsType.getElementType();
  }
  if (staticWeights &&
      static_cast<int64_t>(staticWeights->size()) != numDirections)
    return op->emitOpError() << "expects " << numDirections
                             << " static weights (one per direction), got "
                             << staticWeights->size();
  return success();
}

LogicalResult SumOp::verify() {
  auto jetType = cast<JetType>(getJet().getType());
  if (jetType.getCollapsed())
    return emitOpError() << "operand is already collapsed: "
                         << getJet().getType();
  return verifySumWeights(*this, jetType, getWeights(), getStaticWeights());
}

//===----------------------------------------------------------------------===//
// PropagateOp
//===----------------------------------------------------------------------===//

Type PropagateOp::getPrimalType(Type type) {
  if (auto jet = dyn_cast<JetType>(type))
    return jet.getValueType();
  return type;
}

Operation *PropagateOp::getPrimalOp() {
  for (Operation &op : getBody().front().without_terminator())
    if (!op.hasTrait<OpTrait::ConstantLike>())
      return &op;
  return nullptr;
}

bool PropagateOp::isCollapsed() {
  for (Type type : getInputs().getTypes())
    if (auto jet = dyn_cast<JetType>(type))
      return jet.getCollapsed();
  return false;
}

LogicalResult PropagateOp::verify() {
  JetType first;
  bool hasJetOperand = false;
  auto checkJet = [&](Type type, StringRef what) -> LogicalResult {
    auto jet = dyn_cast<JetType>(type);
    if (!jet)
      return success();
    if (!first) {
      first = jet;
      return success();
    }
    if (first.getOrder() != jet.getOrder() ||
        first.getDirections() != jet.getDirections())
      return emitOpError() << "expects all jets to have the same order and "
                              "number of directions, but "
                           << what << " has type " << type;
    if (first.getCollapsed() != jet.getCollapsed())
      return emitOpError() << "expects all jets to be standard or all to be "
                              "collapsed, but "
                           << what << " has type " << type;
    return success();
  };
  for (auto [i, type] : llvm::enumerate(getInputs().getTypes())) {
    hasJetOperand |= isa<JetType>(type);
    if (failed(checkJet(type, "operand #" + std::to_string(i))))
      return failure();
  }
  for (auto [i, type] : llvm::enumerate(getResultTypes()))
    if (failed(checkJet(type, "result #" + std::to_string(i))))
      return failure();
  if (!hasJetOperand)
    return emitOpError() << "expects at least one jet operand";
  if (!first.getCollapsed()) {
    if (getWeights() || getStaticWeights())
      return emitOpError() << "takes weights only on collapsed jets";
    return success();
  }
  return verifySumWeights(*this, first, getWeights(), getStaticWeights());
}

LogicalResult PropagateOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "expects " << getInputs().size()
                         << " block arguments, got " << body.getNumArguments();
  for (auto [i, pair] : llvm::enumerate(
           llvm::zip(getInputs().getTypes(), body.getArgumentTypes())))
    if (getPrimalType(std::get<0>(pair)) != std::get<1>(pair))
      return emitOpError() << "block argument #" << i << " must have type "
                           << getPrimalType(std::get<0>(pair)) << ", got "
                           << std::get<1>(pair);
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "body must end with 'taylor.yield'";
  Operation *primal = nullptr;
  for (Operation &op : body.without_terminator()) {
    if (op.hasTrait<OpTrait::ConstantLike>())
      continue;
    if (primal)
      return emitOpError()
             << "body must hold exactly one op besides constants, found '"
             << primal->getName() << "' and '" << op.getName() << "'";
    primal = &op;
  }
  if (!primal)
    return emitOpError() << "body holds no op to propagate";
  if (yield.getValues() != ValueRange(primal->getResults()))
    return emitOpError() << "must yield exactly the results of '"
                         << primal->getName() << "'";
  if (yield.getValues().size() != getNumResults())
    return emitOpError() << "expects " << getNumResults()
                         << " yielded values, got " << yield.getValues().size();
  for (auto [i, pair] : llvm::enumerate(
           llvm::zip(getResultTypes(), yield.getValues().getTypes()))) {
    auto [resultType, yieldedType] = pair;
    if (getPrimalType(resultType) != yieldedType)
      return emitOpError() << "result #" << i << " of type " << resultType
                           << " does not match the yielded type "
                           << yieldedType;
  }
  return success();
}
