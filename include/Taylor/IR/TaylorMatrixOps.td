//===- TaylorMatrixOps.td - Dense linear algebra ops --------*- tablegen -*-===//
//
// Primitive linear algebra on batches of small square matrices: inverse,
// linear solve, sign and log-abs-determinant, Cholesky factor. The torch
// frontend routes `torch.linalg.{inv,det,slogdet,cholesky,solve}` to these
// ops (see docs/linalg.md); their Taylor-mode and adjoint rules are external
// models in lib/Rules/Matrix*Rules.cpp, and `taylor-lower-matrix-ops`
// expands them into loops.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLORMATRIXOPS_TD
#define TAYLOR_IR_TAYLORMATRIXOPS_TD

include "Taylor/IR/TaylorDialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// A ranked tensor of floats; the verifiers check that it is a batch of
/// square matrices `[..., n, n]`.
def Taylor_FloatTensor : RankedTensorOf<[AnyFloat]>;

/// Base class of the ops on batches of square matrices `[..., n, n]`.
class Taylor_MatrixOp<string mnemonic, list<Trait> traits = []>
    : Taylor_Op<mnemonic, !listconcat([Pure], traits)> {
  let hasVerifier = 1;
}

def Taylor_MatrixInverseOp
    : Taylor_MatrixOp<"matrix_inverse", [SameOperandsAndResultType]> {
  let summary = "inverse of a batch of square matrices";
  let description = [{
    `result[..., :, :] = input[..., :, :]^-1` for every matrix of the batch
    (`torch.linalg.inv`). The leading dimensions are batch dimensions; the
    last two must be equal (when both are static).

    A singular matrix gives non-finite entries (Gauss-Jordan elimination with
    partial pivoting divides by a zero pivot), like LAPACK's `getri`; no
    error is raised.

    Taylor rule: `B_k = -B_0 Σ_{j=1..k} C(k, j) A_j B_{k-j}` for the
    coefficients of `B(t) = A(t)^-1`. Adjoint: `Ā = -Bᵀ B̄ Bᵀ`.

    Example:

    ```mlir
    %inv = taylor.matrix_inverse %a : tensor<8x4x4xf64>
    ```
  }];
  let arguments = (ins Taylor_FloatTensor:$input);
  let results = (outs Taylor_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Taylor_SlogdetOp : Taylor_MatrixOp<"slogdet", [InferTypeOpAdaptor]> {
  let summary = "sign and log absolute determinant of a batch of matrices";
  let description = [{
    For every matrix `A` of the batch `input : [..., n, n]`, `sign = sign(det
    A)` (`-1`, `0` or `1`) and `logabsdet = log |det A|`, both of shape
    `[...]` (`torch.linalg.slogdet`). Computed by an LU factorization with
    partial pivoting; a singular matrix gives `sign = 0` and
    `logabsdet = -inf`, as in PyTorch.

    `sign` is piecewise constant: its Taylor coefficients and its adjoint
    contribution are zero. Taylor rule of `logabsdet`, with `B(t) = A(t)^-1`:
    `l_k = Σ_{j=0..k-1} C(k-1, j) tr(B_j A_{k-j})` (from
    `d/dt log |det A| = tr(A^-1 A')`). Adjoint: `Ā = l̄ A^-ᵀ`.

    Example:

    ```mlir
    %sign, %logabsdet = taylor.slogdet %a : tensor<8x4x4xf64>
    ```
  }];
  let arguments = (ins Taylor_FloatTensor:$input);
  let results = (outs Taylor_FloatTensor:$sign, Taylor_FloatTensor:$logabsdet);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Taylor_SolveOp
    : Taylor_MatrixOp<"solve", [AllTypesMatch<["rhs", "result"]>]> {
  let summary = "solve batches of linear systems";
  let description = [{
    `result[...] = matrix[...]^-1 rhs[...]` for every system of the batch
    (`torch.linalg.solve`): `matrix : [..., n, n]`, `rhs : [..., n, k]`,
    with the same batch dimensions (the frontend broadcasts them) and
    element type. Gauss-Jordan elimination with partial pivoting on
    `[matrix | rhs]`; a singular matrix gives non-finite entries.

    Taylor rule, with `B_0 = A_0^-1`:
    `X_k = B_0 (b_k - Σ_{j=1..k} C(k, j) A_j X_{k-j})` (matrix products with
    `k` columns, not `n`). Adjoint: `b̄ = A^-ᵀ X̄`, `Ā = -b̄ Xᵀ`.

    Example:

    ```mlir
    %x = taylor.solve %a, %b : tensor<8x4x4xf64>, tensor<8x4x2xf64>
    ```
  }];
  let arguments = (ins Taylor_FloatTensor:$matrix, Taylor_FloatTensor:$rhs);
  let results = (outs Taylor_FloatTensor:$result);
  let assemblyFormat = [{
    $matrix `,` $rhs attr-dict `:` type($matrix) `,` type($rhs)
  }];
}

def Taylor_CholeskyOp
    : Taylor_MatrixOp<"cholesky", [SameOperandsAndResultType]> {
  let summary = "lower Cholesky factor of a batch of matrices";
  let description = [{
    The lower-triangular `L` with positive diagonal and `L Lᵀ = A` for every
    symmetric positive-definite matrix `A` of the batch
    (`torch.linalg.cholesky`). Only the lower triangle of `A` is read; the
    strict upper triangle of `L` is zero. A matrix that is not positive
    definite gives NaN from the first non-positive pivot on (the square root
    of a negative number), where PyTorch raises an error.

    Taylor rule: with `C_k = A_k - Σ_{j=1..k-1} C(k, j) L_j L_{k-j}ᵀ`,
    `L_k = L_0 Φ(L_0^-1 C_k L_0^-ᵀ)`, where `Φ` takes the lower triangle and
    halves the diagonal.

    Example:

    ```mlir
    %l = taylor.cholesky %a : tensor<8x4x4xf64>
    ```
  }];
  let arguments = (ins Taylor_FloatTensor:$input);
  let results = (outs Taylor_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // TAYLOR_IR_TAYLORMATRIXOPS_TD
