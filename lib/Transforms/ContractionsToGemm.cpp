//===- ContractionsToGemm.cpp - Contractions as 2-D matrix products -------===//
//
// Implements `taylor-contractions-to-gemm`. The coefficient contractions of
// the Taylor rules loop over directions, data and features, e.g.
// `f[r, b, h] += x[r, b, d] * w[d, h]`, and carry unused placeholder inputs.
// When upstream's contraction analysis (`linalg::isaContractionOpInterface`,
// `linalg::inferContractionDims`) splits the loops into row loops M, column
// loops N and reduction loops K, with no batch loop, and each group is
// contiguous and in the same order in every operand, the contraction is one
// matrix product of the operands collapsed to 2-D: this pass rewrites it into
// a `linalg.matmul` (with `indexing_maps` for a transposed operand) between
// `tensor.collapse_shape` and `tensor.expand_shape` — the form
// `taylor-gemm-to-blas` turns into a BLAS call after bufferization.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/BitVector.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORCONTRACTIONSTOGEMM
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// The positions of the loops an indexing map reads, in result order (the
/// map must be a projected permutation).
SmallVector<unsigned> loopsOf(AffineMap map) {
  SmallVector<unsigned> loops;
  for (AffineExpr e : map.getResults())
    loops.push_back(cast<AffineDimExpr>(e).getPosition());
  return loops;
}

/// The elements of `loops` that are in `group`, in the order of `loops`.
SmallVector<unsigned> inOrderOf(ArrayRef<unsigned> loops,
                                ArrayRef<unsigned> group) {
  SmallVector<unsigned> result;
  for (unsigned d : loops)
    if (llvm::is_contained(group, d))
      result.push_back(d);
  return result;
}

/// Whether `loops` is `first` followed by `second`.
bool isConcatenation(ArrayRef<unsigned> loops, ArrayRef<unsigned> first,
                     ArrayRef<unsigned> second) {
  return loops.size() == first.size() + second.size() &&
         loops.take_front(first.size()) == first &&
         loops.drop_front(first.size()) == second;
}

/// A 2-D view of `value` (rank >= 2) whose dims [0, split) and [split, rank)
/// become one each; `value` itself if it is 2-D already.
Value collapseTo2D(OpBuilder &b, Location loc, Value value, unsigned split) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == 2)
    return value;
  ReassociationIndices first, second;
  for (int64_t i = 0; i < type.getRank(); ++i)
    (static_cast<unsigned>(i) < split ? first : second).push_back(i);
  return tensor::CollapseShapeOp::create(
      b, loc, value, SmallVector<ReassociationIndices>{first, second});
}

/// The indexing maps of `linalg.matmul` on `a` ([m, k], or [k, m] if
/// `transA`) and `b` ([k, n], or [n, k] if `transB`).
SmallVector<AffineMap> matmulMaps(MLIRContext *ctx, bool transA, bool transB) {
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  auto map = [&](AffineExpr x, AffineExpr y) {
    return AffineMap::get(3, 0, {x, y}, ctx);
  };
  return {transA ? map(k, m) : map(m, k), transB ? map(n, k) : map(k, n),
          map(m, n)};
}

/// Drops the inputs whose values the body never reads from a one-result
/// reduction generic with two read inputs (the placeholder operands of the
/// Taylor rules), so that upstream's contraction analysis, which wants two
/// inputs, can see a contraction in it.
struct DropUnreadInputs : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumReductionLoops() == 0)
      return rewriter.notifyMatchFailure(op, "not a one-result reduction");
    Block *body = op.getBody();
    SmallVector<unsigned> read;
    for (unsigned i = 0, e = op.getNumDpsInputs(); i < e; ++i)
      if (!body->getArgument(i).use_empty())
        read.push_back(i);
    if (read.size() == op.getNumDpsInputs())
      return rewriter.notifyMatchFailure(op, "every input is read");
    if (read.size() != 2)
      return rewriter.notifyMatchFailure(op, "not two read inputs");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<Value> inputs;
    SmallVector<AffineMap> newMaps;
    for (unsigned i : read) {
      inputs.push_back(op.getDpsInputs()[i]);
      newMaps.push_back(maps[i]);
    }
    newMaps.push_back(maps.back());
    auto generic = linalg::GenericOp::create(
        rewriter, op.getLoc(), op.getResultTypes(), inputs, op.getDpsInits(),
        newMaps, op.getIteratorTypesArray());
    rewriter.inlineRegionBefore(op.getRegion(), generic.getRegion(),
                                generic.getRegion().end());
    BitVector unread(body->getNumArguments());
    for (unsigned i = 0, e = op.getNumDpsInputs(); i < e; ++i)
      unread[i] = !llvm::is_contained(read, i);
    body->eraseArguments(unread);
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// Whether `body` (of a two-input, one-output structured op) is exactly
/// `yield(out + a * b)` (either operand order), `a`, `b` and `out` its
/// block arguments.
bool isMultiplyAdd(Block *body) {
  if (body->getNumArguments() != 3 || body->getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  BlockArgument out = body->getArgument(2);
  if (!add || (add.getLhs() != out && add.getRhs() != out))
    return false;
  auto mul = (add.getLhs() == out ? add.getRhs() : add.getLhs())
                 .getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  auto isInput = [&](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == body && arg.getArgNumber() < 2;
  };
  return isInput(mul.getLhs()) && isInput(mul.getRhs()) &&
         mul.getLhs() != mul.getRhs();
}

/// A contraction `c += a * b` (upstream's definition) whose M, N and K loops
/// are contiguous groups in one order in every operand, and which has no
/// batch loop, as a `linalg.matmul` of its operands collapsed to 2-D.
struct ContractionToGemm : public OpRewritePattern<linalg::GenericOp> {
  ContractionToGemm(MLIRContext *ctx, unsigned &counter)
      : OpRewritePattern<linalg::GenericOp>(ctx), counter(counter) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    if (!linalg::isaContractionOpInterface(op))
      return rewriter.notifyMatchFailure(op, "not a contraction");
    // Upstream's body check looks through any one-operand op (meant for
    // casts, it takes `out + exp(a * b)` too): the body must be exactly
    // `out + a * b` on the block arguments.
    if (!isMultiplyAdd(op.getBody()))
      return rewriter.notifyMatchFailure(op, "body is not out + a * b");
    OpOperand *a = op.getDpsInputOperand(0);
    OpOperand *b = op.getDpsInputOperand(1);
    OpOperand *c = op.getDpsInitOperand(0);
    Type element = getElementTypeOrSelf(c->get().getType());
    if ((!element.isF32() && !element.isF64()) ||
        getElementTypeOrSelf(a->get().getType()) != element ||
        getElementTypeOrSelf(b->get().getType()) != element)
      return rewriter.notifyMatchFailure(op, "not f32 or f64 throughout");

    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims))
      return rewriter.notifyMatchFailure(op, "no contraction dimensions");
    if (!dims->batch.empty())
      return rewriter.notifyMatchFailure(op, "a batch loop");
    if (dims->m.empty() || dims->n.empty() || dims->k.empty() ||
        dims->m.size() + dims->n.size() + dims->k.size() != op.getNumLoops())
      return rewriter.notifyMatchFailure(
          op, "a loop is neither a row, a column nor a reduction");

    // Each group contiguous and in one order in every operand.
    SmallVector<unsigned> loopsA = loopsOf(op.getMatchingIndexingMap(a)),
                          loopsB = loopsOf(op.getMatchingIndexingMap(b)),
                          loopsC = loopsOf(op.getMatchingIndexingMap(c));
    SmallVector<unsigned> rows = inOrderOf(loopsC, dims->m),
                          cols = inOrderOf(loopsC, dims->n);
    // `c[n, m] += a[m, k] * b[k, n]` (upstream's M are the loops of the
    // first input): the product of the inputs the other way round.
    if (!isConcatenation(loopsC, rows, cols) &&
        isConcatenation(loopsC, cols, rows)) {
      std::swap(a, b);
      std::swap(loopsA, loopsB);
      std::swap(rows, cols);
    }
    SmallVector<unsigned> reductions = inOrderOf(loopsA, dims->k);
    if (!isConcatenation(loopsC, rows, cols) ||
        inOrderOf(loopsB, dims->k) != reductions)
      return rewriter.notifyMatchFailure(
          op, "the operands do not hold M, N and K as contiguous groups in "
              "one order");
    bool transA = !isConcatenation(loopsA, rows, reductions);
    bool transB = !isConcatenation(loopsB, reductions, cols);
    if ((transA && !isConcatenation(loopsA, reductions, rows)) ||
        (transB && !isConcatenation(loopsB, cols, reductions)))
      return rewriter.notifyMatchFailure(op, "groups are interleaved");

    Location loc = op.getLoc();
    Value a2 = collapseTo2D(rewriter, loc, a->get(),
                            transA ? reductions.size() : rows.size());
    Value b2 = collapseTo2D(rewriter, loc, b->get(),
                            transB ? cols.size() : reductions.size());
    Value c2 = collapseTo2D(rewriter, loc, c->get(), rows.size());
    auto gemm = linalg::MatmulOp::create(
        rewriter, loc, TypeRange{c2.getType()}, ValueRange{a2, b2},
        ValueRange{c2},
        {rewriter.getNamedAttr("indexing_maps",
                               rewriter.getAffineMapArrayAttr(matmulMaps(
                                   op.getContext(), transA, transB)))});
    Value result = gemm.getResult(0);
    if (result.getType() != op.getResult(0).getType()) {
      auto type = cast<RankedTensorType>(op.getResult(0).getType());
      ReassociationIndices first, second;
      for (int64_t i = 0; i < type.getRank(); ++i)
        (static_cast<size_t>(i) < rows.size() ? first : second).push_back(i);
      result = tensor::ExpandShapeOp::create(
          rewriter, loc, type, result,
          SmallVector<ReassociationIndices>{first, second},
          tensor::getMixedSizes(rewriter, loc, c->get()));
    }
    rewriter.replaceOp(op, result);
    ++counter;
    return success();
  }

  unsigned &counter;
};

/// Reads the source of a 2-D `linalg.transpose` feeding a `linalg.matmul`
/// through the transposed map instead: BLAS takes the transpose as a flag,
/// the transposed copy (of `nn.Linear`'s weights, at every call) goes.
struct FoldTransposeIntoGemm : public OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    if (llvm::any_of(maps, [](AffineMap map) {
          return map.getNumResults() != 2 || !map.isProjectedPermutation();
        }))
      return rewriter.notifyMatchFailure(op, "an operand is broadcast");
    SmallVector<Value> inputs = op.getDpsInputs();
    bool changed = false;
    for (unsigned i = 0; i < 2; ++i) {
      auto transpose = inputs[i].getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !transpose.hasPureTensorSemantics() ||
          transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
        continue;
      inputs[i] = transpose.getInput();
      maps[i] = AffineMap::get(
          3, 0, {maps[i].getResult(1), maps[i].getResult(0)}, op.getContext());
      changed = true;
    }
    if (!changed)
      return rewriter.notifyMatchFailure(op, "no transposed operand");
    rewriter.modifyOpInPlace(op, [&] {
      op->setOperands(0, 2, inputs);
      op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    });
    return success();
  }
};

/// Splits a multi-result reduction generic whose results are computed
/// independently (each yielded value depends on its own output argument and
/// on inputs only, through disjoint body ops) into one generic per result:
/// standard Taylor mode computes `f_1 .. f_K` of a linear contraction in one
/// loop nest, and each of them is a matrix product on its own.
struct SplitIndependentResults : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    unsigned numResults = op.getNumResults();
    if (!op.hasPureTensorSemantics() || numResults < 2 ||
        op.getNumReductionLoops() == 0)
      return rewriter.notifyMatchFailure(op, "not a multi-result reduction");
    Block *body = op.getBody();
    unsigned numInputs = op.getNumDpsInputs();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    // The body ops each result needs; every op must belong to one result.
    DenseMap<Operation *, unsigned> owner;
    for (unsigned i = 0; i < numResults; ++i) {
      SmallVector<Value> worklist = {yield.getOperand(i)};
      while (!worklist.empty()) {
        Value v = worklist.pop_back_val();
        if (auto arg = dyn_cast<BlockArgument>(v)) {
          if (arg.getOwner() == body && arg.getArgNumber() >= numInputs &&
              arg.getArgNumber() != numInputs + i)
            return rewriter.notifyMatchFailure(
                op, "a result reads another result's output");
          continue;
        }
        Operation *def = v.getDefiningOp();
        if (!def || def->getBlock() != body)
          continue;
        auto [it, inserted] = owner.try_emplace(def, i);
        if (!inserted) {
          if (it->second != i)
            return rewriter.notifyMatchFailure(op, "results share body ops");
          continue;
        }
        if (def->getNumRegions() != 0)
          return rewriter.notifyMatchFailure(op, "body op with regions");
        llvm::append_range(worklist, def->getOperands());
      }
    }
    if (owner.size() + 1 != body->getOperations().size())
      return rewriter.notifyMatchFailure(op, "body ops no result needs");

    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    SmallVector<AffineMap> inputMaps(maps.begin(), maps.begin() + numInputs);
    SmallVector<Value> results;
    for (unsigned i = 0; i < numResults; ++i) {
      SmallVector<AffineMap> newMaps = inputMaps;
      newMaps.push_back(maps[numInputs + i]);
      auto split = linalg::GenericOp::create(
          rewriter, op.getLoc(), op.getResult(i).getType(), op.getDpsInputs(),
          ValueRange{op.getDpsInits()[i]}, newMaps, op.getIteratorTypesArray(),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            IRMapping mapping;
            for (unsigned j = 0; j < numInputs; ++j)
              mapping.map(body->getArgument(j), args[j]);
            mapping.map(body->getArgument(numInputs + i), args[numInputs]);
            for (Operation &bodyOp : body->without_terminator())
              if (owner.lookup(&bodyOp) == i && owner.count(&bodyOp))
                b.clone(bodyOp, mapping);
            linalg::YieldOp::create(
                b, loc, mapping.lookupOrDefault(yield.getOperand(i)));
          });
      results.push_back(split.getResult(0));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Splits a one-result reduction generic that yields `out + (t_1 + ... +
/// t_n)` (in any association), each `t_i` a product of two of its inputs,
/// into a chain of generics each yielding `out + t_i`, the next starting
/// from the previous result. The adjoint of a multi-result contraction (the
/// coefficients `f_1 .. f_K` of standard Taylor mode share the weights, and
/// the weights' adjoint sums their products) is such a sum of matrix
/// products; after the split each is a BLAS call.
struct SplitSumOfProducts : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumReductionLoops() == 0)
      return rewriter.notifyMatchFailure(op, "not a one-result reduction");
    Block *body = op.getBody();
    unsigned numInputs = op.getNumDpsInputs();
    BlockArgument out = body->getArgument(numInputs);
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    auto top = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!top || !out.hasOneUse() ||
        (top.getLhs() != out && top.getRhs() != out))
      return rewriter.notifyMatchFailure(op, "body is not out + sum");
    // The summands: the leaves of the tree of single-use additions.
    SmallVector<arith::MulFOp> products;
    SmallVector<Value> worklist = {top.getLhs() == out ? top.getRhs()
                                                       : top.getLhs()};
    unsigned additions = 1;
    while (!worklist.empty()) {
      Value v = worklist.pop_back_val();
      Operation *def = v.getDefiningOp();
      if (!def || def->getBlock() != body || !v.hasOneUse())
        return rewriter.notifyMatchFailure(op, "a summand is shared");
      if (auto add = dyn_cast<arith::AddFOp>(def)) {
        ++additions;
        worklist.push_back(add.getLhs());
        worklist.push_back(add.getRhs());
        continue;
      }
      auto mul = dyn_cast<arith::MulFOp>(def);
      auto isInput = [&](Value x) {
        auto arg = dyn_cast<BlockArgument>(x);
        return arg && arg.getOwner() == body && arg.getArgNumber() < numInputs;
      };
      if (!mul || !isInput(mul.getLhs()) || !isInput(mul.getRhs()) ||
          mul.getLhs() == mul.getRhs())
        return rewriter.notifyMatchFailure(
            op, "a summand is not a product of two inputs");
      products.push_back(mul);
    }
    if (products.size() < 2 ||
        body->getOperations().size() != products.size() + additions + 1)
      return rewriter.notifyMatchFailure(op, "not a sum of several products");

    Value current = op.getDpsInits()[0];
    for (arith::MulFOp mul : llvm::reverse(products)) {
      unsigned lhs = cast<BlockArgument>(mul.getLhs()).getArgNumber();
      unsigned rhs = cast<BlockArgument>(mul.getRhs()).getArgNumber();
      current =
          linalg::GenericOp::create(
              rewriter, op.getLoc(), current.getType(), op.getDpsInputs(),
              ValueRange{current}, op.getIndexingMapsArray(),
              op.getIteratorTypesArray(),
              [&](OpBuilder &b, Location loc, ValueRange args) {
                Value product =
                    arith::MulFOp::create(b, loc, args[lhs], args[rhs]);
                linalg::YieldOp::create(b, loc,
                                        ValueRange{arith::AddFOp::create(
                                            b, loc, args[numInputs], product)});
              })
              .getResult(0);
    }
    rewriter.replaceOp(op, current);
    return success();
  }
};

struct TaylorContractionsToGemmPass
    : public taylor::impl::TaylorContractionsToGemmBase<
          TaylorContractionsToGemmPass> {
  using Base::Base;

  void runOnOperation() override {
    unsigned rewritten = 0;
    RewritePatternSet patterns(&getContext());
    patterns.add<ContractionToGemm>(&getContext(), rewritten);
    patterns.add<DropUnreadInputs, SplitIndependentResults, SplitSumOfProducts,
                 FoldTransposeIntoGemm>(&getContext());
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
    numGemms += rewritten;
  }
};

} // namespace
