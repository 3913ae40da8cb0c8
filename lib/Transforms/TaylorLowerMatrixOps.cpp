//===- TaylorLowerMatrixOps.cpp - Linear algebra ops to loops -------------===//
//
// Implements `taylor-lower-matrix-ops`: `taylor.matrix_inverse`,
// `taylor.solve`, `taylor.slogdet` and `taylor.cholesky` become `scf.for` loops
// over the batch, and per matrix, loops of `tensor.extract` / `tensor.insert`
// on a working copy (in-place after one-shot bufferization).
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORLOWERMATRIXOPS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Scalar and index arithmetic on one `n x n` matrix held in a tensor.
class MatrixCode {
public:
  MatrixCode(OpBuilder &b, Location loc, Type elementType)
      : b(b), loc(loc), elementType(elementType) {}

  Value index(int64_t i) { return arith::ConstantIndexOp::create(b, loc, i); }
  Value real(double v) {
    return arith::ConstantOp::create(b, loc, elementType,
                                     b.getFloatAttr(elementType, v));
  }
  Value get(Value m, Value i, Value j) {
    return tensor::ExtractOp::create(b, loc, m, ValueRange{i, j});
  }
  Value set(Value m, Value i, Value j, Value v) {
    return tensor::InsertOp::create(b, loc, v, m, ValueRange{i, j});
  }
  /// `scf.for iv in [lb, ub)` carrying `init`; `body(iv, args)` returns the
  /// next values.
  ValueRange loop(Value lb, Value ub, ValueRange init,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(
        b, loc, lb, ub, index(1), init,
        [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> next = body(iv, args);
          scf::YieldOp::create(b, loc, next);
        });
    return forOp.getResults();
  }
  /// The row `p >= k` with the largest `|m[p, k]|` (the first on ties).
  Value pivotRow(Value m, Value k, Value n) {
    ValueRange found =
        loop(k, n, {real(-1.0), k}, [&](Value i, ValueRange best) {
          Value magnitude = math::AbsFOp::create(b, loc, get(m, i, k));
          Value larger = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OGT, magnitude, best[0]);
          return SmallVector<Value>{
              arith::SelectOp::create(b, loc, larger, magnitude, best[0]),
              arith::SelectOp::create(b, loc, larger, i, best[1])};
        });
    return found[1];
  }
  /// Swaps rows `r` and `s` of every matrix of `ms`.
  SmallVector<Value> swapRows(ValueRange ms, Value r, Value s, Value n) {
    ValueRange swapped = loop(index(0), n, ms, [&](Value j, ValueRange cur) {
      SmallVector<Value> next;
      for (Value m : cur) {
        Value atR = get(m, r, j), atS = get(m, s, j);
        next.push_back(set(set(m, r, j, atS), s, j, atR));
      }
      return next;
    });
    return llvm::to_vector(swapped);
  }
  Value cmpf(arith::CmpFPredicate predicate, Value lhs, Value rhs) {
    return arith::CmpFOp::create(b, loc, predicate, lhs, rhs);
  }
  Value select(Value c, Value t, Value f) {
    return arith::SelectOp::create(b, loc, c, t, f);
  }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }

  OpBuilder &b;
  Location loc;
  Type elementType;
};

/// Solves `a x = v` for `a : tensor<n x n>` and `v : tensor<n x cols>` by
/// Gauss-Jordan elimination with partial pivoting on `[a | v]`.
Value buildGaussJordan(MatrixCode &c, Value a, Value v, Value n, Value cols) {
  OpBuilder &b = c.b;
  Location loc = c.loc;
  // Row k of `m` (with `width` columns) times `s`.
  auto scaleRow = [&](Value m, Value k, Value s, Value width) {
    return c.loop(c.index(0), width, {m}, [&](Value j, ValueRange cur) {
      return SmallVector<Value>{
          c.set(cur[0], k, j, c.mul(c.get(cur[0], k, j), s))};
    })[0];
  };
  // Row i of `m` minus `factor` times row k, unless i is the pivot row.
  auto eliminate = [&](Value m, Value i, Value k, Value factor,
                       Value isPivotRow, Value width) {
    return c.loop(c.index(0), width, {m}, [&](Value j, ValueRange cur) {
      Value old = c.get(cur[0], i, j);
      Value updated = c.sub(old, c.mul(factor, c.get(cur[0], k, j)));
      return SmallVector<Value>{
          c.set(cur[0], i, j, c.select(isPivotRow, old, updated))};
    })[0];
  };
  ValueRange result =
      c.loop(c.index(0), n, {a, v}, [&](Value k, ValueRange wv) {
        Value p = c.pivotRow(wv[0], k, n);
        Value w = c.swapRows(wv[0], k, p, n)[0];
        Value x = c.swapRows(wv[1], k, p, cols)[0];
        // Row k divided by the pivot.
        Value reciprocal = c.div(c.real(1.0), c.get(w, k, k));
        w = scaleRow(w, k, reciprocal, n);
        x = scaleRow(x, k, reciprocal, cols);
        // Column k eliminated from every other row.
        ValueRange eliminated =
            c.loop(c.index(0), n, {w, x}, [&](Value i, ValueRange wx) {
              Value factor = c.get(wx[0], i, k);
              Value isPivotRow =
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, i, k);
              return SmallVector<Value>{
                  eliminate(wx[0], i, k, factor, isPivotRow, n),
                  eliminate(wx[1], i, k, factor, isPivotRow, cols)};
            });
        return llvm::to_vector(eliminated);
      });
  return result[1];
}

/// The inverse of `a : tensor<n x n>`: Gauss-Jordan on `[a | I]`.
Value buildInverse(MatrixCode &c, Value a, Value n) {
  OpBuilder &b = c.b;
  Location loc = c.loc;
  auto type = cast<RankedTensorType>(a.getType());
  SmallVector<Value> dynamicSizes;
  if (type.isDynamicDim(0))
    dynamicSizes.push_back(n);
  if (type.isDynamicDim(1))
    dynamicSizes.push_back(n);
  Value identity = tensor::GenerateOp::create(
      b, loc, type, dynamicSizes,
      [&](OpBuilder &nb, Location nloc, ValueRange ij) {
        Value onDiagonal = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::eq, ij[0], ij[1]);
        Type elt = type.getElementType();
        Value one =
            arith::ConstantOp::create(nb, nloc, elt, nb.getFloatAttr(elt, 1.0));
        Value zero =
            arith::ConstantOp::create(nb, nloc, elt, nb.getFloatAttr(elt, 0.0));
        tensor::YieldOp::create(
            nb, nloc,
            arith::SelectOp::create(nb, nloc, onDiagonal, one, zero)
                .getResult());
      });
  return buildGaussJordan(c, a, identity, n, n);
}

/// `(sign, log |det|)` of `a : tensor<n x n>` by LU with partial pivoting.
std::pair<Value, Value> buildSlogdet(MatrixCode &c, Value a, Value n) {
  OpBuilder &b = c.b;
  Location loc = c.loc;
  ValueRange result = c.loop(
      c.index(0), n, {a, c.real(1.0), c.real(0.0)},
      [&](Value k, ValueRange state) {
        Value p = c.pivotRow(state[0], k, n);
        Value w = c.swapRows(state[0], k, p, n)[0];
        Value swapped =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, p, k);
        Value sign = c.select(swapped, arith::NegFOp::create(b, loc, state[1]),
                              state[1]);
        Value pivot = c.get(w, k, k);
        Value zero = c.real(0.0);
        Value pivotSign = c.select(
            c.cmpf(arith::CmpFPredicate::OGT, pivot, zero), c.real(1.0),
            c.select(c.cmpf(arith::CmpFPredicate::OLT, pivot, zero),
                     c.real(-1.0), zero));
        sign = c.mul(sign, pivotSign);
        Value logabs = c.add(
            state[2],
            math::LogOp::create(b, loc, math::AbsFOp::create(b, loc, pivot)));
        // A zero pivot (singular matrix) leaves the column: no 0/0 below.
        Value isZero = c.cmpf(arith::CmpFPredicate::OEQ, pivot, zero);
        Value reciprocal = c.select(isZero, zero, c.div(c.real(1.0), pivot));
        Value next = arith::AddIOp::create(b, loc, k, c.index(1));
        ValueRange eliminated =
            c.loop(next, n, {w}, [&](Value i, ValueRange m) {
              Value factor = c.mul(c.get(m[0], i, k), reciprocal);
              ValueRange row = c.loop(next, n, m, [&](Value j, ValueRange mm) {
                Value updated = c.sub(c.get(mm[0], i, j),
                                      c.mul(factor, c.get(mm[0], k, j)));
                return SmallVector<Value>{c.set(mm[0], i, j, updated)};
              });
              return llvm::to_vector(row);
            });
        return SmallVector<Value>{eliminated[0], sign, logabs};
      });
  return {result[1], result[2]};
}

/// The lower Cholesky factor of `a : tensor<n x n>` (lower triangle read).
Value buildCholesky(MatrixCode &c, Value a, Value n) {
  OpBuilder &b = c.b;
  Location loc = c.loc;
  auto type = cast<RankedTensorType>(a.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, a);
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  Value zeros = linalg::FillOp::create(b, loc, c.real(0.0), empty).getResult(0);
  ValueRange result =
      c.loop(c.index(0), n, {zeros}, [&](Value j, ValueRange l) {
        // L[i, j] = (A[i, j] - Σ_{k<j} L[i, k] L[j, k]) / L[j, j].
        auto dotBelow = [&](Value m, Value i) {
          return c.loop(
              c.index(0), j, {c.get(a, i, j)}, [&](Value k, ValueRange acc) {
                return SmallVector<Value>{
                    c.sub(acc[0], c.mul(c.get(m, i, k), c.get(m, j, k)))};
              })[0];
        };
        Value diagonal = math::SqrtOp::create(b, loc, dotBelow(l[0], j));
        Value withDiagonal = c.set(l[0], j, j, diagonal);
        Value next = arith::AddIOp::create(b, loc, j, c.index(1));
        ValueRange column =
            c.loop(next, n, {withDiagonal}, [&](Value i, ValueRange m) {
              Value entry = c.div(dotBelow(m[0], i), diagonal);
              return SmallVector<Value>{c.set(m[0], i, j, entry)};
            });
        return llvm::to_vector(column);
      });
  return result[0];
}

/// The matrix at batch position `ivs` of `batch : [b_1 .. b_m, r, c]`.
Value extractMatrix(OpBuilder &b, Location loc, Value batch, ValueRange ivs) {
  auto type = cast<RankedTensorType>(batch.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, batch);
  auto matrixType = RankedTensorType::get(type.getShape().take_back(2),
                                          type.getElementType());
  SmallVector<OpFoldResult> offsets(ivs.begin(), ivs.end());
  offsets.append({b.getIndexAttr(0), b.getIndexAttr(0)});
  SmallVector<OpFoldResult> sliceSizes(rank - 2, b.getIndexAttr(1));
  sliceSizes.append({sizes[rank - 2], sizes[rank - 1]});
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, matrixType, batch, offsets,
                                        sliceSizes, strides);
}

/// Runs `perMatrix(matrix, iterArgs) -> next iterArgs` for every matrix of
/// the batch `input : [b_1 .. b_m, n, n]`, starting from `inits`.
/// `perMatrix` gets the batch indices to insert its results.
SmallVector<Value> forEachMatrix(
    OpBuilder &b, Location loc, Value input, ValueRange inits,
    function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange, ValueRange)>
        perMatrix) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  SmallVector<Value> lbs, ubs, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = 0; d < rank - 2; ++d) {
    lbs.push_back(zero);
    ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, sizes[d]));
    steps.push_back(one);
  }
  auto body = [&](OpBuilder &nb, Location nloc, ValueRange ivs,
                  ValueRange args) -> scf::ValueVector {
    return perMatrix(nb, extractMatrix(nb, nloc, input, ivs), ivs, args);
  };
  if (rank == 2)
    return body(b, loc, ValueRange(), inits);
  scf::LoopNest nest = scf::buildLoopNest(b, loc, lbs, ubs, steps, inits, body);
  return llvm::to_vector(nest.results);
}

/// Inserts the matrix `m` at batch position `ivs` of `dest`.
Value insertMatrix(OpBuilder &b, Location loc, Value m, Value dest,
                   ValueRange ivs) {
  auto type = cast<RankedTensorType>(dest.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(ivs.begin(), ivs.end());
  offsets.append({b.getIndexAttr(0), b.getIndexAttr(0)});
  SmallVector<OpFoldResult> sizes(rank - 2, b.getIndexAttr(1));
  SmallVector<OpFoldResult> all = tensor::getMixedSizes(b, loc, dest);
  sizes.append({all[rank - 2], all[rank - 1]});
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, m, dest, offsets, sizes,
                                       strides);
}

Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type, Value input,
                int64_t rank) {
  SmallVector<OpFoldResult> all = tensor::getMixedSizes(b, loc, input);
  return tensor::EmptyOp::create(b, loc, ArrayRef(all).take_front(rank),
                                 type.getElementType());
}

/// The matrix size `n` of the batch `input`.
Value matrixSize(OpBuilder &b, Location loc, Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  return getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, input, type.getRank() - 1));
}

/// Lowers a single-result op whose result is one matrix per input matrix.
template <typename OpTy> struct LowerMatrixToMatrix : OpRewritePattern<OpTy> {
  LowerMatrixToMatrix(MLIRContext *ctx,
                      Value (*build)(MatrixCode &, Value, Value))
      : OpRewritePattern<OpTy>(ctx), build(build) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto type = cast<RankedTensorType>(input.getType());
    Value n = matrixSize(rewriter, loc, input);
    Value init = emptyLike(rewriter, loc, type, input, type.getRank());
    SmallVector<Value> results = forEachMatrix(
        rewriter, loc, input, {init},
        [&](OpBuilder &b, Value matrix, ValueRange ivs, ValueRange args) {
          MatrixCode code(b, loc, type.getElementType());
          Value m = build(code, matrix, n);
          return SmallVector<Value>{insertMatrix(b, loc, m, args[0], ivs)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }

  Value (*build)(MatrixCode &, Value, Value);
};

struct LowerSlogdet : OpRewritePattern<SlogdetOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SlogdetOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto type = cast<RankedTensorType>(input.getType());
    Value n = matrixSize(rewriter, loc, input);
    Value signInit = emptyLike(rewriter, loc, type, input, type.getRank() - 2);
    Value logInit = emptyLike(rewriter, loc, type, input, type.getRank() - 2);
    SmallVector<Value> results = forEachMatrix(
        rewriter, loc, input, {signInit, logInit},
        [&](OpBuilder &b, Value matrix, ValueRange ivs, ValueRange args) {
          MatrixCode code(b, loc, type.getElementType());
          auto [sign, logabs] = buildSlogdet(code, matrix, n);
          return SmallVector<Value>{
              tensor::InsertOp::create(b, loc, sign, args[0], ivs),
              tensor::InsertOp::create(b, loc, logabs, args[1], ivs)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct LowerSolve : OpRewritePattern<SolveOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SolveOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value matrix = op.getMatrix(), rhs = op.getRhs();
    RankedTensorType type = op.getRhs().getType();
    Value n = matrixSize(rewriter, loc, matrix);
    Value cols = matrixSize(rewriter, loc, rhs);
    Value init = emptyLike(rewriter, loc, type, rhs, type.getRank());
    SmallVector<Value> results = forEachMatrix(
        rewriter, loc, matrix, {init},
        [&](OpBuilder &b, Value a, ValueRange ivs, ValueRange args) {
          MatrixCode code(b, loc, type.getElementType());
          Value x = buildGaussJordan(code, a, extractMatrix(b, loc, rhs, ivs),
                                     n, cols);
          return SmallVector<Value>{insertMatrix(b, loc, x, args[0], ivs)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct TaylorLowerMatrixOpsPass
    : public taylor::impl::TaylorLowerMatrixOpsBase<TaylorLowerMatrixOpsPass> {
  using Base::Base;
  void runOnOperation() override;
};

} // namespace

void TaylorLowerMatrixOpsPass::runOnOperation() {
  MLIRContext *ctx = &getContext();
  RewritePatternSet patterns(ctx);
  patterns.add<LowerMatrixToMatrix<MatrixInverseOp>>(ctx, buildInverse);
  patterns.add<LowerMatrixToMatrix<CholeskyOp>>(ctx, buildCholesky);
  patterns.add<LowerSlogdet, LowerSolve>(ctx);
  unsigned count = 0;
  getOperation().walk([&](Operation *op) {
    if (isa<MatrixInverseOp, SlogdetOp, SolveOp, CholeskyOp>(op))
      ++count;
  });
  if (count == 0)
    return;
  // Every op of the three kinds lowers; the walk driver neither folds nor
  // revisits the code the patterns create.
  walkAndApplyPatterns(getOperation(), std::move(patterns));
  numOpsLowered += count;
}
