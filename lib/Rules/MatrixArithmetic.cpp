//===- MatrixArithmetic.cpp - Tensor arithmetic on matrix batches ---------===//
//
// Every operation is one `linalg.generic` over the loops
// `[r?, b_1 .. b_m, ...]`: the direction loop `r` when any operand carries
// the direction dimension, the batch loops, then the matrix loops.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/MatrixArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// An input of a generated generic: `value`, whose dimension `d` is indexed
/// by loop `dims[d]`.
struct IndexedValue {
  Value value;
  SmallVector<unsigned> dims;
};

/// Scalar body of a generated generic: gets the input elements, the output
/// element and the builder; returns the yielded value.
using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange, Value)>;

} // namespace

/// `numLoops` loops; output indexed by `outDims`, starting from `init`
/// (null: zeros if any loop is a reduction, else uninitialized).
static Value buildGeneric(OpBuilder &b, Location loc, unsigned numLoops,
                          ArrayRef<IndexedValue> inputs,
                          ArrayRef<unsigned> outDims, ArrayRef<unsigned> reduce,
                          Value init, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  Type elementType =
      cast<RankedTensorType>(inputs.front().value.getType()).getElementType();
  // The size of each loop, from the first input that it indexes.
  SmallVector<OpFoldResult> loopSizes(numLoops);
  SmallVector<bool> known(numLoops, false);
  for (const IndexedValue &input : inputs)
    for (auto [d, loop] : llvm::enumerate(input.dims))
      if (!known[loop]) {
        loopSizes[loop] = tensor::getMixedSize(b, loc, input.value, d);
        known[loop] = true;
      }
  if (!init) {
    SmallVector<OpFoldResult> sizes;
    for (unsigned loop : outDims)
      sizes.push_back(loopSizes[loop]);
    init = tensor::EmptyOp::create(b, loc, sizes, elementType);
    if (!reduce.empty()) {
      Value zero = arith::ConstantOp::create(b, loc, elementType,
                                             b.getZeroAttr(elementType));
      init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
    }
  }
  auto mapOf = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(numLoops, 0, exprs, ctx);
  };
  SmallVector<Value> inputValues;
  SmallVector<AffineMap> maps;
  for (const IndexedValue &input : inputs) {
    inputValues.push_back(input.value);
    maps.push_back(mapOf(input.dims));
  }
  maps.push_back(mapOf(outDims));
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  for (unsigned loop : reduce)
    iterators[loop] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputValues, ValueRange{init},
             maps, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value result = body(nb, nloc, args.drop_back(), args.back());
               linalg::YieldOp::create(nb, nloc, result);
             })
      .getResult(0);
}

/// `[first, first + 1, ..., first + count - 1]`.
static SmallVector<unsigned> range(unsigned first, unsigned count) {
  SmallVector<unsigned> r;
  for (unsigned i = 0; i < count; ++i)
    r.push_back(first + i);
  return r;
}

/// Loop list `[0]` if `directional`, followed by `rest`.
static SmallVector<unsigned> withDirection(bool directional,
                                           ArrayRef<unsigned> rest) {
  SmallVector<unsigned> dims;
  if (directional)
    dims.push_back(0);
  llvm::append_range(dims, rest);
  return dims;
}

static Value constant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
}

/// `alpha · v`, skipping the multiplication for 1.
static Value scaled(OpBuilder &b, Location loc, double alpha, Value v) {
  if (alpha == 1.0)
    return v;
  return arith::MulFOp::create(b, loc, constant(b, loc, v.getType(), alpha), v);
}

bool MatrixBuilder::isDirectionalMatrix(Value x) const {
  return cast<RankedTensorType>(x.getType()).getRank() ==
         static_cast<int64_t>(batchRank) + 3;
}

bool MatrixBuilder::isDirectionalScalar(Value s) const {
  return cast<RankedTensorType>(s.getType()).getRank() ==
         static_cast<int64_t>(batchRank) + 1;
}

Value MatrixBuilder::matmul(Value x, Value y, bool transposeX, bool transposeY,
                            double alpha, Value acc) {
  if (!x || !y)
    return acc;
  bool directional = isDirectionalMatrix(x) || isDirectionalMatrix(y);
  if (acc && directional && !isDirectionalMatrix(acc))
    return add(acc, matmul(x, y, transposeX, transposeY, alpha));
  directional |= acc && isDirectionalMatrix(acc);
  unsigned o = directional ? 1 : 0;
  unsigned i = o + batchRank, j = i + 1, l = i + 2;
  SmallVector<unsigned> batch = range(o, batchRank);
  auto matrixDims = [&](bool dir, unsigned row, unsigned col) {
    SmallVector<unsigned> dims = withDirection(dir, batch);
    dims.append({row, col});
    return dims;
  };
  IndexedValue lhs{x, transposeX ? matrixDims(isDirectionalMatrix(x), l, i)
                                 : matrixDims(isDirectionalMatrix(x), i, l)};
  IndexedValue rhs{y, transposeY ? matrixDims(isDirectionalMatrix(y), j, l)
                                 : matrixDims(isDirectionalMatrix(y), l, j)};
  return buildGeneric(
      b, loc, l + 1, {lhs, rhs}, matrixDims(directional, i, j), {l}, acc,
      [&](OpBuilder &nb, Location nloc, ValueRange in, Value out) {
        Value product = arith::MulFOp::create(nb, nloc, in[0], in[1]);
        return arith::AddFOp::create(nb, nloc, out,
                                     scaled(nb, nloc, alpha, product));
      });
}

Value MatrixBuilder::add(Value x, Value y, double alpha, double beta) {
  if (!x && !y)
    return Value();
  auto rankOf = [](Value v) {
    return static_cast<unsigned>(cast<RankedTensorType>(v.getType()).getRank());
  };
  if (!x || !y) {
    Value v = x ? x : y;
    double factor = x ? alpha : beta;
    if (factor == 1.0)
      return v;
    unsigned rank = rankOf(v);
    return buildGeneric(b, loc, rank, {{v, range(0, rank)}}, range(0, rank), {},
                        Value(),
                        [&](OpBuilder &nb, Location nloc, ValueRange in,
                            Value) { return scaled(nb, nloc, factor, in[0]); });
  }
  unsigned rank = std::max(rankOf(x), rankOf(y));
  auto dimsOf = [&](Value v) { return range(rank - rankOf(v), rankOf(v)); };
  return buildGeneric(
      b, loc, rank, {{x, dimsOf(x)}, {y, dimsOf(y)}}, range(0, rank), {},
      Value(), [&](OpBuilder &nb, Location nloc, ValueRange in, Value) {
        return arith::AddFOp::create(nb, nloc, scaled(nb, nloc, alpha, in[0]),
                                     scaled(nb, nloc, beta, in[1]));
      });
}

Value MatrixBuilder::traceOfProduct(Value x, Value y, double alpha, Value acc) {
  if (!x || !y)
    return acc;
  bool directional = isDirectionalMatrix(x) || isDirectionalMatrix(y);
  if (acc && directional && !isDirectionalScalar(acc))
    return add(acc, traceOfProduct(x, y, alpha));
  directional |= acc && isDirectionalScalar(acc);
  unsigned o = directional ? 1 : 0;
  unsigned a = o + batchRank, c = a + 1;
  SmallVector<unsigned> batch = range(o, batchRank);
  SmallVector<unsigned> xDims = withDirection(isDirectionalMatrix(x), batch);
  xDims.append({a, c});
  SmallVector<unsigned> yDims = withDirection(isDirectionalMatrix(y), batch);
  yDims.append({c, a});
  return buildGeneric(
      b, loc, c + 1, {{x, xDims}, {y, yDims}},
      withDirection(directional, batch), {a, c}, acc,
      [&](OpBuilder &nb, Location nloc, ValueRange in, Value out) {
        Value product = arith::MulFOp::create(nb, nloc, in[0], in[1]);
        return arith::AddFOp::create(nb, nloc, out,
                                     scaled(nb, nloc, alpha, product));
      });
}

/// The row and column loop indices of the last two loops of a generic body.
static std::pair<Value, Value> rowAndColumn(OpBuilder &b, Location loc,
                                            unsigned rank) {
  return {linalg::IndexOp::create(b, loc, rank - 2),
          linalg::IndexOp::create(b, loc, rank - 1)};
}

Value MatrixBuilder::lowerWithHalfDiagonal(Value s) {
  if (!s)
    return s;
  unsigned rank = cast<RankedTensorType>(s.getType()).getRank();
  return buildGeneric(
      b, loc, rank, {{s, range(0, rank)}}, range(0, rank), {}, Value(),
      [&](OpBuilder &nb, Location nloc, ValueRange in, Value) -> Value {
        auto [row, col] = rowAndColumn(nb, nloc, rank);
        Type type = in[0].getType();
        Value below = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::ugt,
                                            row, col);
        Value onDiagonal =
            arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::eq, row, col);
        Value half = scaled(nb, nloc, 0.5, in[0]);
        Value diagonalOrZero = arith::SelectOp::create(
            nb, nloc, onDiagonal, half, constant(nb, nloc, type, 0.0));
        return arith::SelectOp::create(nb, nloc, below, in[0], diagonalOrZero);
      });
}

Value MatrixBuilder::halfSymmetrizedLower(Value m) {
  if (!m)
    return m;
  unsigned rank = cast<RankedTensorType>(m.getType()).getRank();
  SmallVector<unsigned> transposed = range(0, rank);
  std::swap(transposed[rank - 2], transposed[rank - 1]);
  return buildGeneric(
      b, loc, rank, {{m, range(0, rank)}, {m, transposed}}, range(0, rank), {},
      Value(), [&](OpBuilder &nb, Location nloc, ValueRange in, Value) {
        auto [row, col] = rowAndColumn(nb, nloc, rank);
        Value lower = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::uge,
                                            row, col);
        Value picked = arith::SelectOp::create(nb, nloc, lower, in[0], in[1]);
        return scaled(nb, nloc, 0.5, picked);
      });
}

Value MatrixBuilder::scaleMatrices(Value s, Value x, bool transposeX) {
  if (!s || !x)
    return Value();
  bool directional = isDirectionalScalar(s) || isDirectionalMatrix(x);
  unsigned o = directional ? 1 : 0;
  unsigned i = o + batchRank, j = i + 1;
  SmallVector<unsigned> batch = range(o, batchRank);
  SmallVector<unsigned> xDims = withDirection(isDirectionalMatrix(x), batch);
  if (transposeX)
    xDims.append({j, i});
  else
    xDims.append({i, j});
  SmallVector<unsigned> outDims = withDirection(directional, batch);
  outDims.append({i, j});
  return buildGeneric(
      b, loc, j + 1,
      {{x, xDims}, {s, withDirection(isDirectionalScalar(s), batch)}}, outDims,
      {}, Value(),
      [&](OpBuilder &nb, Location nloc, ValueRange in, Value) -> Value {
        return arith::MulFOp::create(nb, nloc, in[0], in[1]);
      });
}
