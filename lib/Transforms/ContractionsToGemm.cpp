//===- ContractionsToGemm.cpp - Contractions as 2-D matrix products -------===//
//
// Implements `taylor-contractions-to-gemm`. The coefficient contractions of
// the Taylor rules loop over directions, data and features, e.g.
// `f[r, b, h] += x[r, b, d] * w[d, h]`, and carry unused placeholder inputs.
// When the loops split into row loops M (in `a` and `out`), column loops N
// (in `b` and `out`) and reduction loops K (in `a` and `b`), each group
// contiguous and in the same order in every operand, the contraction is one
// matrix product of the operands collapsed to 2-D: this pass rewrites it into
// a canonical three-loop generic `out[m, n] += a[m, k] * b[k, n]` (operands
// possibly transposed) marked `taylor.gemm`, between `tensor.collapse_shape`
// and `tensor.expand_shape` — the form `taylor-gemm-to-blas` turns into a
// BLAS call after bufferization.
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

struct ContractionToGemm : public OpRewritePattern<linalg::GenericOp> {
  ContractionToGemm(MLIRContext *ctx, unsigned &counter)
      : OpRewritePattern<linalg::GenericOp>(ctx), counter(counter) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (op->hasAttr("taylor.gemm"))
      return rewriter.notifyMatchFailure(op, "already a GEMM");
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1)
      return rewriter.notifyMatchFailure(op, "not a one-output tensor generic");
    Type element = getElementTypeOrSelf(op.getResult(0).getType());
    if (!element.isF32() && !element.isF64())
      return rewriter.notifyMatchFailure(op, "not f32 or f64");
    Block *body = op.getBody();
    if (!body->getOps<linalg::IndexOp>().empty())
      return rewriter.notifyMatchFailure(op, "the body reads loop indices");
    // The body: out + x * y, x and y block arguments of two inputs.
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    BlockArgument out = body->getArgument(op.getNumDpsInputs());
    if (!add || (add.getLhs() != out && add.getRhs() != out))
      return rewriter.notifyMatchFailure(op, "body is not out + a * b");
    auto mul = (add.getLhs() == out ? add.getRhs() : add.getLhs())
                   .getDefiningOp<arith::MulFOp>();
    if (!mul || mul->getBlock() != body || body->getOperations().size() != 3)
      return rewriter.notifyMatchFailure(op, "body is not out + a * b");
    auto lhs = dyn_cast<BlockArgument>(mul.getLhs());
    auto rhs = dyn_cast<BlockArgument>(mul.getRhs());
    if (!lhs || !rhs || lhs == rhs || lhs.getOwner() != body ||
        rhs.getOwner() != body || lhs.getArgNumber() >= op.getNumDpsInputs() ||
        rhs.getArgNumber() >= op.getNumDpsInputs())
      return rewriter.notifyMatchFailure(op, "the factors are not two inputs");

    OpOperand *a = op.getDpsInputOperand(lhs.getArgNumber());
    OpOperand *b = op.getDpsInputOperand(rhs.getArgNumber());
    OpOperand *c = op.getDpsInitOperand(0);
    AffineMap mapA = op.getMatchingIndexingMap(a);
    AffineMap mapB = op.getMatchingIndexingMap(b);
    AffineMap mapC = op.getMatchingIndexingMap(c);
    if (!mapA.isProjectedPermutation() || !mapB.isProjectedPermutation() ||
        !mapC.isProjectedPermutation())
      return rewriter.notifyMatchFailure(op, "maps are not permutations");

    // Classify the loops: M (a, out), N (b, out), K (a, b; reduction).
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<unsigned> loopsA = loopsOf(mapA), loopsB = loopsOf(mapB),
                          loopsC = loopsOf(mapC);
    SmallVector<unsigned> rowsA, colsB, reductionsA, reductionsB;
    for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d) {
      bool inA = mapA.isFunctionOfDim(d), inB = mapB.isFunctionOfDim(d),
           inC = mapC.isFunctionOfDim(d);
      bool isM = inA && inC && !inB, isN = inB && inC && !inA,
           isK = inA && inB && !inC &&
                 iterators[d] == utils::IteratorType::reduction;
      if (!isM && !isN && !isK)
        return rewriter.notifyMatchFailure(
            op, "a loop is neither a row, a column nor a reduction");
    }
    auto inC = [&](unsigned d) { return mapC.isFunctionOfDim(d); };
    for (unsigned d : loopsA)
      (inC(d) ? rowsA : reductionsA).push_back(d);
    for (unsigned d : loopsB)
      (inC(d) ? colsB : reductionsB).push_back(d);
    if (rowsA.empty() || colsB.empty() || reductionsA.empty() ||
        reductionsA != reductionsB || !isConcatenation(loopsC, rowsA, colsB))
      return rewriter.notifyMatchFailure(
          op, "the operands do not hold M, N and K as contiguous groups in "
              "one order");
    bool transA = !isConcatenation(loopsA, rowsA, reductionsA);
    bool transB = !isConcatenation(loopsB, reductionsB, colsB);
    if ((transA && !isConcatenation(loopsA, reductionsA, rowsA)) ||
        (transB && !isConcatenation(loopsB, colsB, reductionsB)))
      return rewriter.notifyMatchFailure(op, "groups are interleaved");

    Location loc = op.getLoc();
    Value a2 = collapseTo2D(rewriter, loc, a->get(),
                            transA ? reductionsA.size() : rowsA.size());
    Value b2 = collapseTo2D(rewriter, loc, b->get(),
                            transB ? colsB.size() : reductionsB.size());
    Value c2 = collapseTo2D(rewriter, loc, c->get(), rowsA.size());
    MLIRContext *ctx = op.getContext();
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    auto map = [&](AffineExpr x, AffineExpr y) {
      return AffineMap::get(3, 0, {x, y}, ctx);
    };
    SmallVector<AffineMap> maps = {transA ? map(k, m) : map(m, k),
                                   transB ? map(n, k) : map(k, n), map(m, n)};
    SmallVector<utils::IteratorType> gemmIterators = {
        utils::IteratorType::parallel, utils::IteratorType::parallel,
        utils::IteratorType::reduction};
    bool outFirst = add.getLhs() == out;
    auto gemm = linalg::GenericOp::create(
        rewriter, loc, c2.getType(), ValueRange{a2, b2}, ValueRange{c2}, maps,
        gemmIterators, [&](OpBuilder &bb, Location l, ValueRange args) {
          Value product = arith::MulFOp::create(bb, l, args[0], args[1]);
          Value sum = outFirst ? arith::AddFOp::create(bb, l, args[2], product)
                               : arith::AddFOp::create(bb, l, product, args[2]);
          linalg::YieldOp::create(bb, l, sum);
        });
    gemm->setAttr("taylor.gemm", rewriter.getUnitAttr());
    Value result = gemm.getResult(0);
    if (result.getType() != op.getResult(0).getType()) {
      auto type = cast<RankedTensorType>(op.getResult(0).getType());
      ReassociationIndices first, second;
      for (int64_t i = 0; i < type.getRank(); ++i)
        (static_cast<size_t>(i) < rowsA.size() ? first : second).push_back(i);
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

/// Reads the source of a 2-D `linalg.transpose` feeding a matrix product
/// through the transposed map instead: BLAS takes the transpose as a flag,
/// the transposed copy (of `nn.Linear`'s weights, at every call) goes.
struct FoldTransposeIntoGemm : public OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!op->hasAttr("taylor.gemm") || !op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not a GEMM on tensors");
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
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
    if (op->hasAttr("taylor.gemm") || !op.hasPureTensorSemantics() ||
        op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
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
    // Named matrix products (torch-mlir's linalg.matmul) as generics first.
    SmallVector<linalg::MatmulOp> named;
    getOperation().walk([&](linalg::MatmulOp op) {
      if (op.hasPureTensorSemantics())
        named.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::MatmulOp op : named) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }
    unsigned rewritten = 0;
    RewritePatternSet patterns(&getContext());
    patterns.add<ContractionToGemm>(&getContext(), rewritten);
    patterns.add<SplitIndependentResults, SplitSumOfProducts,
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
