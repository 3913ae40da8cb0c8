//===- MatrixArithmetic.h - Tensor arithmetic on matrix batches -*- C++ -*-===//
//
// Building blocks of the Taylor-mode and adjoint rules of the linear algebra
// ops (`taylor.matrix_inverse`, `taylor.slogdet`, `taylor.cholesky`):
// products, traces of products and triangular parts of batches of matrices,
// each a `linalg.generic`, on values with or without a leading direction
// dimension. A null Value is an identically zero operand, as in
// `JetBuilder`.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RULES_MATRIXARITHMETIC_H
#define TAYLOR_RULES_MATRIXARITHMETIC_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mlir {
namespace taylor {

/// Emits arithmetic on *matrices* (`[R?, b_1 .. b_m, n, n]`) and *batch
/// scalars* (`[R?, b_1 .. b_m]`), where `R` is an optional leading direction
/// dimension: a value has it when its rank exceeds the primal rank of its
/// kind. Operands without the direction dimension are broadcast over it.
class MatrixBuilder {
public:
  /// `batchRank` is `m`, the number of batch dimensions of the primal
  /// matrices.
  MatrixBuilder(OpBuilder &builder, Location loc, unsigned batchRank)
      : b(builder), loc(loc), batchRank(batchRank) {}

  /// `acc + alpha · op(x) · op(y)` with `op` a transpose of the last two
  /// dimensions where requested; `acc` may be null (zero). Returns `acc` if
  /// `x` or `y` is null.
  Value matmul(Value x, Value y, bool transposeX = false,
               bool transposeY = false, double alpha = 1.0, Value acc = {});
  /// `alpha · x + beta · y` (matrices or batch scalars; null is zero).
  Value add(Value x, Value y, double alpha = 1.0, double beta = 1.0);
  /// `acc + alpha · tr(x · y)`, a batch scalar; `acc` may be null.
  Value traceOfProduct(Value x, Value y, double alpha = 1.0, Value acc = {});
  /// `Φ(s)`: the lower triangle of `s` with its diagonal halved.
  Value lowerWithHalfDiagonal(Value s);
  /// `½ (tril(m) + tril(m, -1)ᵀ)`: the symmetric matrix whose lower triangle
  /// is half that of `m` (the adjoint of `Φ` composed with symmetrization).
  Value halfSymmetrizedLower(Value m);
  /// `s[..., None, None] · op(x)`: each matrix of `x` (transposed where
  /// requested) scaled by the batch scalar `s`.
  Value scaleMatrices(Value s, Value x, bool transposeX = false);

  /// Whether matrix `x` has the leading direction dimension.
  bool isDirectionalMatrix(Value x) const;
  /// Whether batch scalar `s` has the leading direction dimension.
  bool isDirectionalScalar(Value s) const;

private:
  OpBuilder &b;
  Location loc;
  unsigned batchRank;
};

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_RULES_MATRIXARITHMETIC_H
