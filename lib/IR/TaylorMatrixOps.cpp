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

LogicalResult SolveOp::verify() {
  auto emit = [&] { return emitOpError(); };
  RankedTensorType matrix = getMatrix().getType();
  RankedTensorType rhs = getRhs().getType();
  if (failed(verifyMatrixBatch(emit, matrix)))
    return failure();
  if (rhs.getRank() != matrix.getRank())
    return emitOpError() << "expects a right-hand side of the matrix's rank "
                         << matrix.getRank() << " ([..., n, k]), got " << rhs;
  if (rhs.getElementType() != matrix.getElementType())
    return emitOpError() << "expects operands of one element type, got "
                         << matrix.getElementType() << " and "
                         << rhs.getElementType();
  int64_t rank = matrix.getRank();
  for (int64_t d = 0; d < rank - 1; ++d) {
    int64_t want = matrix.getDimSize(d), got = rhs.getDimSize(d);
    if (!ShapedType::isDynamic(want) && !ShapedType::isDynamic(got) &&
        want != got)
      return emitOpError() << "expects the right-hand side " << rhs
                           << " to match the matrix " << matrix
                           << " in its batch and row dimensions";
  }
  return success();
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
