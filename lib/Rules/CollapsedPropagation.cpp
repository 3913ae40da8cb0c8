//===- CollapsedPropagation.cpp - Collapsed Taylor mode by parts ----------===//
//
// Collapsed propagation through any op with a linear top coefficient, from
// its standard rule:
//
//   F_K = J · X_K + Σ_r w_r N_K^(r)
//
// where `N_K^(r)` is the top coefficient the standard rule computes with the
// top operand coefficients set to zero, and `J · X_K` is the standard rule at
// order 1 with one direction, applied to the summed top operand
// coefficients `X_K`. Models opt in to it through `TaylorRuleByPartsModel`
// (`TaylorRuleOpInterface::propagateCollapsedJets` has no default: the
// interface lives in the IR layer, below this library); the linalg rule
// fuses the reduction instead.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace mlir::taylor;

/// The reassociation between `T` (rank `rank`) and `1 x T`.
static SmallVector<ReassociationIndices>
unitDirectionReassociation(int64_t rank) {
  SmallVector<ReassociationIndices> groups;
  if (rank == 0)
    return groups;
  groups.push_back({0, 1});
  for (int64_t d = 1; d < rank; ++d)
    groups.push_back({d + 1});
  return groups;
}

Value mlir::taylor::addUnitDirection(OpBuilder &builder, Location loc,
                                     Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return tensor::ExpandShapeOp::create(
      builder, loc, getDirectionalType(type, 1), value,
      unitDirectionReassociation(type.getRank()));
}

Value mlir::taylor::dropUnitDirection(OpBuilder &builder, Location loc,
                                      Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  auto resultType = RankedTensorType::get(type.getShape().drop_front(),
                                          type.getElementType());
  return tensor::CollapseShapeOp::create(
      builder, loc, resultType, value,
      unitDirectionReassociation(resultType.getRank()));
}

Value mlir::taylor::buildWeightedDirectionSum(OpBuilder &builder, Location loc,
                                              Value x, Value weights,
                                              Value init) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto resultType = RankedTensorType::get(xType.getShape().drop_front(),
                                          xType.getElementType());
  if (!init) {
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0, e = resultType.getRank(); i < e; ++i)
      if (resultType.isDynamicDim(i))
        dynamicSizes.push_back(tensor::DimOp::create(builder, loc, x, i + 1));
    Type elementType = resultType.getElementType();
    Value empty = tensor::EmptyOp::create(builder, loc, resultType.getShape(),
                                          elementType, dynamicSizes);
    Value zero = arith::ConstantOp::create(builder, loc, elementType,
                                           builder.getZeroAttr(elementType));
    init = linalg::FillOp::create(builder, loc, zero, empty).getResult(0);
  }

  MLIRContext *ctx = builder.getContext();
  unsigned numLoops = xType.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(numLoops, ctx);
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {identity};
  if (weights) {
    inputs.push_back(weights);
    maps.push_back(AffineMap::get(numLoops, 0, builder.getAffineDimExpr(0)));
  }
  maps.push_back(identity.dropResult(0));
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  iterators[0] = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
        Value term = args[0];
        if (weights)
          term = arith::MulFOp::create(b, nestedLoc, term, args[1]);
        Value acc = arith::AddFOp::create(b, nestedLoc, args.back(), term);
        linalg::YieldOp::create(b, nestedLoc, acc);
      });
  return generic.getResult(0);
}

FailureOr<SmallVector<Value>> mlir::taylor::applyJacobianToTop(
    TaylorRuleOpInterface op, OpBuilder &builder, const JetRuleContext &context,
    ArrayRef<CoefficientList> operands, ArrayRef<CoefficientList> results) {
  unsigned order = context.order;
  SmallVector<Value> tops(results.size(), Value());
  if (llvm::all_of(operands,
                   [&](const CoefficientList &list) { return !list[order]; }))
    return tops;

  Location loc = op->getLoc();
  JetRuleContext tangent{/*order=*/1, /*directions=*/1};
  SmallVector<CoefficientList> tangentOperands;
  for (const CoefficientList &list : operands) {
    CoefficientList t = tangent.passive(list[0]);
    if (list[order])
      t[1] = addUnitDirection(builder, loc, list[order]);
    tangentOperands.push_back(t);
  }
  SmallVector<CoefficientList> tangentResults;
  for (const CoefficientList &list : results)
    tangentResults.push_back(tangent.passive(list[0]));
  if (failed(
          op.propagateJets(builder, tangent, tangentOperands, tangentResults)))
    return failure();
  for (auto [top, list] : llvm::zip(tops, tangentResults))
    if (list[1])
      top = dropUnitDirection(builder, loc, list[1]);
  return tops;
}

LogicalResult mlir::taylor::propagateCollapsedJetsByParts(
    TaylorRuleOpInterface op, OpBuilder &builder, const JetRuleContext &context,
    ArrayRef<CoefficientList> operands, Value weights,
    SmallVectorImpl<CoefficientList> &results) {
  unsigned order = context.order;
  Location loc = op->getLoc();

  // Coefficients 1 .. K-1, and N_K^(r): the standard rule with x_K = 0.
  SmallVector<CoefficientList> lower;
  for (const CoefficientList &list : operands) {
    CoefficientList l = list;
    l[order] = Value();
    lower.push_back(l);
  }
  if (failed(op.propagateJets(builder, context, lower, results)))
    return failure();

  // J · X_K, the linear part.
  FailureOr<SmallVector<Value>> linear =
      applyJacobianToTop(op, builder, context, operands, results);
  if (failed(linear))
    return failure();

  // F_K = J · X_K + Σ_r w_r N_K^(r).
  for (auto [list, top] : llvm::zip(results, *linear)) {
    Value nonlinear = list[order];
    list[order] = nonlinear ? buildWeightedDirectionSum(builder, loc, nonlinear,
                                                        weights, top)
                            : top;
  }
  return success();
}
