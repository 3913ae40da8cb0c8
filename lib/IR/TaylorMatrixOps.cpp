//===- TaylorMatrixOps.cpp - Dense linear algebra ops ---------------------===//
//
// Verifiers and type inference of the ops on batches of square matrices.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"

using namespace mlir;
using namespace mlir::taylor;

/// Checks that `type` is a batch of square matrices `[..., n, n]`.
static LogicalResult verifyMatrixBatch(function_ref<InFlightDiagnostic()> emit,
                                       RankedTensorType type) {
  if (type.getRank() < 2)
    return emit() << "expects a batch of matrices of rank >= 2, got " << type;
  int64_t rows = type.getDimSize(type.getRank() - 2);
  int64_t cols = type.getDimSize(type.getRank() - 1);
  if (!ShapedType::isDynamic(rows) && !ShapedType::isDynamic(cols) &&
      rows != cols)
    return emit() << "expects square matrices, got " << rows << "x" << cols
                  << " in " << type;
  return success();
}

LogicalResult MatrixInverseOp::verify() {
  return verifyMatrixBatch([&] { return emitOpError(); }, getInput().getType());
}

LogicalResult CholeskyOp::verify() {
  return verifyMatrixBatch([&] { return emitOpError(); }, getInput().getType());
}

LogicalResult SlogdetOp::verify() {
  return verifyMatrixBatch([&] { return emitOpError(); }, getInput().getType());
}

LogicalResult SlogdetOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> location,
    SlogdetOp::Adaptor adaptor, SmallVectorImpl<Type> &inferredReturnTypes) {
  auto type = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!type || type.getRank() < 2)
    return emitOptionalError(location,
                             "'taylor.slogdet' expects a batch of matrices of "
                             "rank >= 2, got ",
                             adaptor.getInput().getType());
  auto batch = RankedTensorType::get(type.getShape().drop_back(2),
                                     type.getElementType());
  inferredReturnTypes.assign({batch, batch});
  return success();
}
