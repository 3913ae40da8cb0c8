//===- TensorAdjointRules.cpp - Adjoint rules of tensor ops ---------------===//
//
// The shape-manipulating tensor ops are linear; the adjoint of each is its
// transpose: a reshape the inverse reshape, an extract_slice an insert of
// the adjoint into the accumulated one, an insert_slice a slice of the
// adjoint (and the adjoint with the slice zeroed for the destination), a
// concatenation slices, a pad the interior slice, a cast the inverse cast.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::taylor;

Value mlir::taylor::buildTensorAdd(OpBuilder &builder, Location loc, Value lhs,
                                   Value rhs) {
  auto type = cast<RankedTensorType>(lhs.getType());
  MLIRContext *ctx = builder.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(type.getRank(), ctx);
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  Value init = tensor::EmptyOp::create(builder, loc,
                                       tensor::getMixedSizes(builder, loc, lhs),
                                       type.getElementType());
  return linalg::GenericOp::create(
             builder, loc, TypeRange{type}, ValueRange{lhs, rhs},
             ValueRange{init},
             ArrayRef<AffineMap>{identity, identity, identity}, iterators,
             [&](OpBuilder &b, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   b, l,
                   ValueRange{arith::AddFOp::create(b, l, args[0], args[1])});
             })
      .getResult(0);
}

namespace {

/// Adds `adjoint` into the slice of the adjoint of `primal` (zeros if none
/// yet) given by `offsets`, `sizes` and `strides`.
void addToSlice(OpBuilder &b, Location loc, AdjointState &state, Value primal,
                Value adjoint, ArrayRef<OpFoldResult> offsets,
                ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides) {
  Value accumulated = state.getAdjoint(primal);
  Value dest = accumulated ? accumulated : createZeroLike(b, loc, primal);
  Value update = adjoint;
  if (accumulated) {
    Value current = tensor::ExtractSliceOp::create(
        b, loc, cast<RankedTensorType>(adjoint.getType()), accumulated, offsets,
        sizes, strides);
    update = buildTensorAdd(b, loc, current, adjoint);
  }
  state.setAdjoint(primal, tensor::InsertSliceOp::create(
                               b, loc, update, dest, offsets, sizes, strides));
}

/// Base of the models of ops with one tensor operand and one result:
/// `Derived::transpose(op, b, ȳ)` returns the operand's contribution.
template <typename Derived, typename OpTy>
struct UnaryLinearModel
    : public AdjointRuleOpInterface::ExternalModel<Derived, OpTy> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &b,
                             AdjointState &state) const {
    Value adjoint = state.getAdjoint(op->getResult(0));
    Value source = op->getOperand(0);
    if (!adjoint || !state.isActive(source))
      return success();
    state.addToAdjoint(b, op->getLoc(), source,
                       Derived::transpose(cast<OpTy>(op), b, adjoint));
    return success();
  }
};

struct ExpandShapeModel
    : UnaryLinearModel<ExpandShapeModel, tensor::ExpandShapeOp> {
  static Value transpose(tensor::ExpandShapeOp op, OpBuilder &b, Value y) {
    return tensor::CollapseShapeOp::create(b, op.getLoc(), op.getSrcType(), y,
                                           op.getReassociationIndices());
  }
};

struct CollapseShapeModel
    : UnaryLinearModel<CollapseShapeModel, tensor::CollapseShapeOp> {
  static Value transpose(tensor::CollapseShapeOp op, OpBuilder &b, Value y) {
    return tensor::ExpandShapeOp::create(
        b, op.getLoc(), op.getSrcType(), y, op.getReassociationIndices(),
        tensor::getMixedSizes(b, op.getLoc(), op.getSrc()));
  }
};

struct CastModel : UnaryLinearModel<CastModel, tensor::CastOp> {
  static Value transpose(tensor::CastOp op, OpBuilder &b, Value y) {
    return tensor::CastOp::create(b, op.getLoc(), op.getSource().getType(), y);
  }
};

struct PadModel : UnaryLinearModel<PadModel, tensor::PadOp> {
  static Value transpose(tensor::PadOp op, OpBuilder &b, Value y) {
    // The padding value is passive (a scalar): only the interior has an
    // adjoint.
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> strides(op.getSourceType().getRank(),
                                      b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(
        b, loc, op.getSourceType(), y, op.getMixedLowPad(),
        tensor::getMixedSizes(b, loc, op.getSource()), strides);
  }
};

struct ExtractSliceModel
    : public AdjointRuleOpInterface::ExternalModel<ExtractSliceModel,
                                                   tensor::ExtractSliceOp> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &b,
                             AdjointState &state) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    Value adjoint = state.getAdjoint(slice.getResult());
    if (!adjoint || !state.isActive(slice.getSource()))
      return success();
    addToSlice(b, op->getLoc(), state, slice.getSource(), adjoint,
               slice.getMixedOffsets(), slice.getMixedSizes(),
               slice.getMixedStrides());
    return success();
  }
};

struct InsertSliceModel
    : public AdjointRuleOpInterface::ExternalModel<InsertSliceModel,
                                                   tensor::InsertSliceOp> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &b,
                             AdjointState &state) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    Value adjoint = state.getAdjoint(insert.getResult());
    if (!adjoint)
      return success();
    Location loc = op->getLoc();
    Value source = insert.getSource();
    if (state.isActive(source))
      state.addToAdjoint(b, loc, source,
                         tensor::ExtractSliceOp::create(
                             b, loc, insert.getSourceType(), adjoint,
                             insert.getMixedOffsets(), insert.getMixedSizes(),
                             insert.getMixedStrides()));
    Value dest = insert.getDest();
    if (state.isActive(dest)) {
      // The inserted slice overwrote the destination there.
      Value zeros = createZeroLike(b, loc, source);
      state.addToAdjoint(b, loc, dest,
                         tensor::InsertSliceOp::create(
                             b, loc, zeros, adjoint, insert.getMixedOffsets(),
                             insert.getMixedSizes(), insert.getMixedStrides()));
    }
    return success();
  }
};

struct ConcatModel
    : public AdjointRuleOpInterface::ExternalModel<ConcatModel,
                                                   tensor::ConcatOp> {
  LogicalResult buildAdjoint(Operation *op, OpBuilder &b,
                             AdjointState &state) const {
    auto concat = cast<tensor::ConcatOp>(op);
    Value adjoint = state.getAdjoint(concat.getResult());
    if (!adjoint)
      return success();
    Location loc = op->getLoc();
    int64_t dim = concat.getDim();
    int64_t rank = concat.getResultType().getRank();
    OpFoldResult offset = b.getIndexAttr(0);
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    for (Value input : concat.getInputs()) {
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
      if (state.isActive(input)) {
        SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
        offsets[dim] = offset;
        state.addToAdjoint(b, loc, input,
                           tensor::ExtractSliceOp::create(
                               b, loc, cast<RankedTensorType>(input.getType()),
                               adjoint, offsets, sizes, strides));
      }
      std::optional<int64_t> lhs = getConstantIntValue(offset);
      std::optional<int64_t> rhs = getConstantIntValue(sizes[dim]);
      if (lhs && rhs)
        offset = b.getIndexAttr(*lhs + *rhs);
      else
        offset = arith::AddIOp::create(
                     b, loc, getValueOrCreateConstantIndexOp(b, loc, offset),
                     getValueOrCreateConstantIndexOp(b, loc, sizes[dim]))
                     .getResult();
    }
    return success();
  }
};

} // namespace

void mlir::taylor::registerTensorAdjointRules(DialectRegistry &registry) {
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
