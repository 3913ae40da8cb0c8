//===- TensorTaylorRules.cpp - Taylor-mode rules of tensor ops ------------===//
//
// The shape-manipulating tensor ops are linear: coefficient k of the result
// is the same op applied to coefficient k of the operands, with a leading
// direction dimension added. Zero coefficients stay zero.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/JetArithmetic.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;
using namespace mlir::taylor;

//===----------------------------------------------------------------------===//
// Shared helpers (declared in Rules.h)
//===----------------------------------------------------------------------===//

RankedTensorType mlir::taylor::getDirectionalType(Type primalType,
                                                  unsigned directions) {
  auto tensor = cast<RankedTensorType>(primalType);
  SmallVector<int64_t> shape = {static_cast<int64_t>(directions)};
  llvm::append_range(shape, tensor.getShape());
  return RankedTensorType::get(shape, tensor.getElementType());
}

/// An empty tensor of `type`, whose dynamic dimension `d` has the size of
/// dimension `d - offset` of `shapeSource`.
static Value createEmpty(OpBuilder &builder, Location loc,
                         RankedTensorType type, Value shapeSource,
                         unsigned offset) {
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(
          tensor::DimOp::create(builder, loc, shapeSource, d - offset));
  return tensor::EmptyOp::create(builder, loc, type.getShape(),
                                 type.getElementType(), dynamicSizes);
}

/// A zero tensor of `type`, sized like `createEmpty`.
static Value createZeros(OpBuilder &builder, Location loc,
                         RankedTensorType type, Value shapeSource,
                         unsigned offset) {
  Value empty = createEmpty(builder, loc, type, shapeSource, offset);
  Type elementType = type.getElementType();
  Value zero = arith::ConstantOp::create(builder, loc, elementType,
                                         builder.getZeroAttr(elementType));
  return linalg::FillOp::create(builder, loc, zero, empty).getResult(0);
}

Value mlir::taylor::createEmptyCoefficient(OpBuilder &builder, Location loc,
                                           Value primal, unsigned directions) {
  return createEmpty(builder, loc,
                     getDirectionalType(primal.getType(), directions), primal,
                     /*offset=*/1);
}

Value mlir::taylor::coefficientOrZero(OpBuilder &builder, Location loc,
                                      const CoefficientList &jet, unsigned k,
                                      unsigned directions) {
  return jet[k] ? jet[k]
                : createZeroCoefficient(builder, loc, jet[0], directions);
}

Value mlir::taylor::createZeroCoefficient(OpBuilder &builder, Location loc,
                                          Value primal, unsigned directions) {
  return createZeros(builder, loc,
                     getDirectionalType(primal.getType(), directions), primal,
                     /*offset=*/1);
}

Value mlir::taylor::createZeroLike(OpBuilder &builder, Location loc,
                                   Value like) {
  return createZeros(builder, loc, cast<RankedTensorType>(like.getType()), like,
                     /*offset=*/0);
}

void mlir::taylor::eraseDeadOps(Block *block) {
  SmallVector<Operation *> ops = llvm::to_vector(llvm::map_range(
      block->without_terminator(), [](Operation &op) { return &op; }));
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();
}

bool mlir::taylor::isZeroTensor(Value value) {
  if (!value)
    return false;
  if (matchPattern(value, m_AnyZeroFloat()))
    return true;
  Attribute attr;
  if (matchPattern(value, m_Constant(&attr)))
    if (auto splat = dyn_cast<SplatElementsAttr>(attr))
      if (auto f = dyn_cast<FloatAttr>(splat.getSplatValue<Attribute>()))
        return f.getValue().isZero();
  if (auto fill = value.getDefiningOp<linalg::FillOp>())
    return fill.hasPureTensorSemantics() &&
           matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return false;
}

namespace {

/// Prepends the direction dimension to a list of static/dynamic sizes.
SmallVector<OpFoldResult> prepend(OpBuilder &b, int64_t first,
                                  ArrayRef<OpFoldResult> rest) {
  SmallVector<OpFoldResult> result = {b.getIndexAttr(first)};
  llvm::append_range(result, rest);
  return result;
}

/// Shifts a reassociation by the direction dimension: [[0]] + (r + 1).
SmallVector<ReassociationIndices>
shiftReassociation(ArrayRef<ReassociationIndices> reassociation) {
  SmallVector<ReassociationIndices> result = {{0}};
  for (const ReassociationIndices &group : reassociation) {
    ReassociationIndices shifted;
    for (int64_t d : group)
      shifted.push_back(d + 1);
    result.push_back(shifted);
  }
  return result;
}

/// Base of the single-jet-operand models: `Derived::apply(op, b, x_k)`
/// returns the op applied to coefficient `x_k`.
template <typename Derived, typename OpTy>
struct LinearShapeModel : public TaylorRuleByPartsModel<Derived, OpTy> {
  LogicalResult propagateJets(Operation *op, OpBuilder &builder,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    if (failed(requirePassiveOperands(op, operands, 1)))
      return failure();
    for (unsigned k = 1; k <= context.order; ++k)
      if (Value xk = operands[0][k])
        results[0][k] =
            Derived::apply(cast<OpTy>(op), builder, context.directions, xk);
    return success();
  }
};

struct ExpandShapeModel
    : LinearShapeModel<ExpandShapeModel, tensor::ExpandShapeOp> {
  static Value apply(tensor::ExpandShapeOp op, OpBuilder &b, unsigned r,
                     Value x) {
    return tensor::ExpandShapeOp::create(
        b, op.getLoc(), getDirectionalType(op.getResultType(), r), x,
        shiftReassociation(op.getReassociationIndices()),
        prepend(b, r, op.getMixedOutputShape()));
  }
};

struct CollapseShapeModel
    : LinearShapeModel<CollapseShapeModel, tensor::CollapseShapeOp> {
  static Value apply(tensor::CollapseShapeOp op, OpBuilder &b, unsigned r,
                     Value x) {
    return tensor::CollapseShapeOp::create(
        b, op.getLoc(), getDirectionalType(op.getResultType(), r), x,
        shiftReassociation(op.getReassociationIndices()));
  }
};

struct ExtractSliceModel
    : LinearShapeModel<ExtractSliceModel, tensor::ExtractSliceOp> {
  static Value apply(tensor::ExtractSliceOp op, OpBuilder &b, unsigned r,
                     Value x) {
    return tensor::ExtractSliceOp::create(
        b, op.getLoc(), getDirectionalType(op.getResultType(), r), x,
        prepend(b, 0, op.getMixedOffsets()), prepend(b, r, op.getMixedSizes()),
        prepend(b, 1, op.getMixedStrides()));
  }
};

struct CastModel : LinearShapeModel<CastModel, tensor::CastOp> {
  static Value apply(tensor::CastOp op, OpBuilder &b, unsigned r, Value x) {
    return tensor::CastOp::create(b, op.getLoc(),
                                  getDirectionalType(op.getType(), r), x);
  }
};

struct PadModel : LinearShapeModel<PadModel, tensor::PadOp> {
  static Value apply(tensor::PadOp op, OpBuilder &b, unsigned r, Value x) {
    // The padding value is passive: the padded coefficients are zero.
    Type elementType = op.getResultType().getElementType();
    Value zero = arith::ConstantOp::create(b, op.getLoc(), elementType,
                                           b.getZeroAttr(elementType));
    return tensor::PadOp::create(
        b, op.getLoc(), getDirectionalType(op.getResultType(), r), x,
        prepend(b, 0, op.getMixedLowPad()), prepend(b, 0, op.getMixedHighPad()),
        zero, op.getNofold());
  }
};

/// insert_slice: both the source and the destination may be active.
struct InsertSliceModel
    : public TaylorRuleByPartsModel<InsertSliceModel, tensor::InsertSliceOp> {
  LogicalResult propagateJets(Operation *op, OpBuilder &b,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    unsigned r = context.directions;
    for (unsigned k = 1; k <= context.order; ++k) {
      if (!operands[0][k] && !operands[1][k])
        continue;
      results[0][k] = tensor::InsertSliceOp::create(
          b, op->getLoc(),
          coefficientOrZero(b, op->getLoc(), operands[0], k, r),
          coefficientOrZero(b, op->getLoc(), operands[1], k, r),
          prepend(b, 0, insert.getMixedOffsets()),
          prepend(b, r, insert.getMixedSizes()),
          prepend(b, 1, insert.getMixedStrides()));
    }
    return success();
  }
};

/// concat: along the shifted dimension; zero operands materialized only when
/// some other operand's coefficient is non-zero.
struct ConcatModel
    : public TaylorRuleByPartsModel<ConcatModel, tensor::ConcatOp> {
  LogicalResult propagateJets(Operation *op, OpBuilder &b,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands,
                              SmallVectorImpl<CoefficientList> &results) const {
    auto concat = cast<tensor::ConcatOp>(op);
    unsigned r = context.directions;
    for (unsigned k = 1; k <= context.order; ++k) {
      if (llvm::all_of(operands,
                       [&](const CoefficientList &jet) { return !jet[k]; }))
        continue;
      SmallVector<Value> inputs;
      for (const CoefficientList &jet : operands)
        inputs.push_back(coefficientOrZero(b, op->getLoc(), jet, k, r));
      results[0][k] = tensor::ConcatOp::create(
          b, op->getLoc(), getDirectionalType(concat.getResultType(), r),
          concat.getDim() + 1, inputs);
    }
    return success();
  }
};

} // namespace

void mlir::taylor::registerTensorTaylorRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ExpandShapeOp::attachInterface<ExpandShapeModel>(*ctx);
    tensor::CollapseShapeOp::attachInterface<CollapseShapeModel>(*ctx);
    tensor::ExtractSliceOp::attachInterface<ExtractSliceModel>(*ctx);
    tensor::InsertSliceOp::attachInterface<InsertSliceModel>(*ctx);
    tensor::ConcatOp::attachInterface<ConcatModel>(*ctx);
    tensor::PadOp::attachInterface<PadModel>(*ctx);
    tensor::CastOp::attachInterface<CastModel>(*ctx);
  });
}
