//===- TileContractions.cpp - Row-blocked contractions --------------------===//
//
// Implements `taylor-tile-contractions`. A contraction lowered to loops as
// it stands, `for (rows) for (n) for (k) out[row, n] += a[row, k] * b[k, n]`,
// streams the whole `b` once per row with a stride of `n`: it runs at the
// speed of memory, and the coefficient contractions of Taylor mode have
// R·B rows. This pass tiles the rows by `row-tile` and reorders the loops
// inside a tile to `for (k) for (row in tile) for (n)`: each row of `b` is
// read contiguously and reused for the whole tile from cache, and the
// innermost loop runs along contiguous rows of `out` and `b` (vectorizable).
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORTILECONTRACTIONS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// The loops of a contraction to tile: the parallel loops but `n` (the
/// rows), the last parallel loop (`n`) and the reductions (`k`).
struct ContractionLoops {
  SmallVector<unsigned> rows;
  unsigned n;
  SmallVector<unsigned> reductions;
};

/// The loops of `op` if it is a contraction whose innermost loop reduces:
/// for two of its inputs `a` and `b` and its first output, upstream's
/// contraction analysis (`linalg::inferContractionDims`) finds reduction
/// loops K (of `a` and `b`, not the output) among which the innermost loop,
/// and column loops N (of `b` and the output, not `a`) among which the last
/// parallel loop `n`; there is at least one other parallel loop (a row).
/// Inputs the body does not read (the placeholders of the Taylor rules) and
/// further outputs with the same loops (the coefficients of standard Taylor
/// mode computed in one loop nest) do not matter.
std::optional<ContractionLoops> matchContraction(linalg::LinalgOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.empty() || iterators.back() != utils::IteratorType::reduction ||
      op.getNumDpsInits() == 0)
    return std::nullopt;
  ContractionLoops loops;
  SmallVector<unsigned> parallel;
  for (auto [i, type] : llvm::enumerate(iterators)) {
    if (type == utils::IteratorType::parallel)
      parallel.push_back(i);
    else
      loops.reductions.push_back(i);
  }
  if (parallel.size() < 2)
    return std::nullopt;
  loops.n = parallel.back();
  loops.rows.assign(parallel.begin(), parallel.end() - 1);
  unsigned innermost = iterators.size() - 1;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<OpOperand *> inputs = op.getDpsInputOperands();
  for (OpOperand *a : inputs) {
    for (OpOperand *b : inputs) {
      if (a == b)
        continue;
      FailureOr<linalg::ContractionDimensions> dims =
          linalg::inferContractionDims({op.getMatchingIndexingMap(a),
                                        op.getMatchingIndexingMap(b), out});
      if (succeeded(dims) && llvm::is_contained(dims->k, innermost) &&
          llvm::is_contained(dims->n, loops.n))
        return loops;
    }
  }
  return std::nullopt;
}

/// Whether `op` is a `linalg.matmul` on f32 or f64 throughout, the products
/// `taylor-gemm-to-blas` calls BLAS for.
bool isBlasMatmul(linalg::LinalgOp op) {
  if (!isa<linalg::MatmulOp>(op))
    return false;
  Type element = getElementTypeOrSelf(op.getDpsInits()[0].getType());
  return (element.isF32() || element.isF64()) &&
         llvm::all_of(op.getDpsInputs(), [&](Value v) {
           return getElementTypeOrSelf(v.getType()) == element;
         });
}

struct TaylorTileContractionsPass
    : public taylor::impl::TaylorTileContractionsBase<
          TaylorTileContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> candidates;
    getOperation().walk([&](linalg::LinalgOp op) {
      // Matrix products that will call BLAS (taylor-contractions-to-gemm
      // made them `linalg.matmul`s) stay as they are.
      if (skipMatmuls && isBlasMatmul(op))
        return;
      if (op.hasPureTensorSemantics() && matchContraction(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      ContractionLoops loops = *matchContraction(op);
      rewriter.setInsertionPoint(op);
      if (!isa<linalg::GenericOp>(op)) {
        FailureOr<linalg::GenericOp> generic =
            linalg::generalizeNamedOp(rewriter, op);
        if (failed(generic))
          continue;
        op = *generic;
      }
      // Rows: about rowTile per tile, taken from the innermost row loops
      // first, in divisors of static extents (no partial tiles); n and k
      // untiled.
      SmallVector<OpFoldResult> sizes(op.getNumLoops(),
                                      rewriter.getIndexAttr(0));
      SmallVector<int64_t> extents = op.getStaticLoopRanges();
      SmallVector<int64_t> rowSizes(op.getNumLoops(), 1);
      int64_t remaining = std::max<int64_t>(rowTile, 1);
      for (unsigned row : llvm::reverse(loops.rows)) {
        int64_t size = remaining;
        if (!ShapedType::isDynamic(extents[row]))
          while (extents[row] % size != 0)
            --size;
        rowSizes[row] = size;
        sizes[row] = rewriter.getIndexAttr(size);
        remaining = std::max<int64_t>(remaining / size, 1);
      }
      scf::SCFTilingOptions options;
      options.setTileSizes(sizes);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op->emitWarning() << "taylor-tile-contractions: tiling failed";
        continue;
      }
      rewriter.replaceOp(op, tiled->replacements);
      // Inside a tile: the rows of one trip, k, the other rows, n.
      auto tile = cast<linalg::GenericOp>(tiled->tiledOps.back());
      SmallVector<unsigned> order;
      for (unsigned row : loops.rows)
        if (rowSizes[row] == 1)
          order.push_back(row);
      llvm::append_range(order, loops.reductions);
      for (unsigned row : loops.rows)
        if (rowSizes[row] != 1)
          order.push_back(row);
      order.push_back(loops.n);
      rewriter.setInsertionPoint(tile);
      if (failed(linalg::interchangeGenericOp(rewriter, tile, order)))
        tile->emitWarning() << "taylor-tile-contractions: interchange failed";
      ++numTiled;
    }
  }
};

} // namespace
