//===- GemmToBlas.cpp - Matrix products as BLAS calls ---------------------===//
//
// Implements `taylor-gemm-to-blas`. After bufferization, every
// `linalg.matmul` (`c[m, n] += a * b` on 2-D memrefs of f32 or f64, `a` and
// `b` possibly transposed through `indexing_maps`, as
// `taylor-contractions-to-gemm` emits them) whose operands have unit inner
// strides becomes a call of `taylor_cblas_dgemm` / `taylor_cblas_sgemm`
// with the CBLAS signature (row-major, ILP64 integers). The JIT resolves
// these symbols to an optimized BLAS (taylor_mlir.blas). The product
// accumulates into `c` (beta = 1), unless `c` was just filled with zeros:
// then the fill is dropped and BLAS overwrites `c` (beta = 0).
//
//===----------------------------------------------------------------------===//

#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORGEMMTOBLAS
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;

namespace {

/// CBLAS enum values.
constexpr int32_t kRowMajor = 101, kNoTrans = 111, kTrans = 112;

/// Whether `op` is a product BLAS computes: f32 or f64 throughout, on
/// buffers, `a` and `b` each read as `[m, k]` / `[k, n]` or transposed (no
/// broadcast operand).
bool isBlasProduct(linalg::MatmulOp op) {
  if (!op.hasPureBufferSemantics())
    return false;
  Type element = getElementTypeOrSelf(op.getDpsInits()[0].getType());
  if (!element.isF32() && !element.isF64())
    return false;
  for (Value v : op.getDpsInputs())
    if (getElementTypeOrSelf(v.getType()) != element)
      return false;
  // a reads (m, k) or (k, m), b (k, n) or (n, k), c (m, n).
  MLIRContext *ctx = op.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  auto reads = [](AffineMap map, AffineExpr x, AffineExpr y) {
    return map.getNumResults() == 2 &&
           ((map.getResult(0) == x && map.getResult(1) == y) ||
            (map.getResult(0) == y && map.getResult(1) == x));
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  return reads(maps[0], m, k) && reads(maps[1], k, n) &&
         maps[2].getNumResults() == 2 && maps[2].getResult(0) == m &&
         maps[2].getResult(1) == n;
}

/// Whether the innermost stride of `type` is statically 1.
bool hasUnitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return type.getRank() == 2 && strides.back() == 1;
}

/// The address of the first element of `memref` as `!llvm.ptr`, and its
/// leading dimension (row stride) as i64.
std::pair<Value, Value> pointerAndLeadingDim(OpBuilder &b, Location loc,
                                             Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value aligned =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value bytes =
      arith::ConstantIndexOp::create(b, loc, type.getElementTypeBitWidth() / 8);
  Value offset = arith::MulIOp::create(b, loc, metadata.getOffset(), bytes);
  Value address = arith::AddIOp::create(b, loc, aligned, offset);
  Type i64 = b.getI64Type();
  Value integer = arith::IndexCastOp::create(b, loc, i64, address);
  Value pointer = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), integer);
  Value leading =
      arith::IndexCastOp::create(b, loc, i64, metadata.getStrides()[0]);
  return {pointer, leading};
}

/// The allocation `value` views in full (through reshapes and casts), or
/// null if it is not such a view of a `memref.alloc`.
Value fullyViewedAllocation(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (isa<memref::AllocOp>(def))
      return value;
    if (!isa<memref::CollapseShapeOp, memref::ExpandShapeOp, memref::CastOp>(
            def))
      return nullptr;
    value = def->getOperand(0);
  }
  return nullptr;
}

/// Whether `op` (or an op nested in it) has an operand that views `alloc`.
bool usesAllocation(Operation *op, Value alloc) {
  WalkResult result = op->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands()) {
      Value root = operand;
      while (Operation *def = root.getDefiningOp()) {
        auto view = dyn_cast<ViewLikeOpInterface>(def);
        if (!view)
          break;
        root = view.getViewSource();
      }
      if (root == alloc)
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return result.wasInterrupted();
}

/// The zero `linalg.fill` of the whole of `c`'s allocation that the product
/// `op` would accumulate onto, if nothing in between touches the allocation;
/// else null. BLAS can then write `c` with beta = 0 and the fill can go.
linalg::FillOp findZeroFill(linalg::MatmulOp op, Value c) {
  Value alloc = fullyViewedAllocation(c);
  if (!alloc)
    return nullptr;
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(prev)) {
      if (fullyViewedAllocation(fill.getOutputs()[0]) == alloc)
        return matchPattern(fill.value(), m_AnyZeroFloat()) ? fill : nullptr;
    }
    if (isMemoryEffectFree(prev) && prev->getNumRegions() == 0)
      continue;
    if (usesAllocation(prev, alloc))
      return nullptr;
  }
  return nullptr;
}

struct TaylorGemmToBlasPass
    : public taylor::impl::TaylorGemmToBlasBase<TaylorGemmToBlasPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::MatmulOp> gemms;
    module.walk([&](linalg::MatmulOp op) {
      if (isBlasProduct(op))
        gemms.push_back(op);
    });
    // Zero fills found before any product is rewritten (the calls hide
    // which buffers they write).
    DenseMap<Operation *, linalg::FillOp> fills;
    for (linalg::MatmulOp op : gemms)
      if (linalg::FillOp fill = findZeroFill(op, op.getDpsInits()[0]))
        fills[op] = fill;
    for (linalg::MatmulOp op : gemms) {
      linalg::FillOp fill = fills.lookup(op);
      if (failed(rewrite(op, /*overwrite=*/static_cast<bool>(fill)))) {
        op->emitRemark() << "taylor-gemm-to-blas: left as loops (operands "
                            "without unit inner strides)";
        continue;
      }
      ++numCalls;
      if (fill) {
        fill.erase();
        ++numZeroFillsDropped;
      }
    }
  }

  /// Replaces `op` by a BLAS call; with `overwrite`, the call ignores what
  /// `c` holds (beta = 0).
  LogicalResult rewrite(linalg::MatmulOp op, bool overwrite) {
    Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    for (Value v : {a, b, c})
      if (!hasUnitInnerStride(cast<MemRefType>(v.getType())))
        return failure();
    Type element = cast<MemRefType>(c.getType()).getElementType();
    MLIRContext *ctx = op.getContext();
    AffineExpr k = getAffineDimExpr(2, ctx);
    bool transA = op.getIndexingMapsArray()[0].getResult(0) == k;
    bool transB = op.getIndexingMapsArray()[1].getResult(1) == k;

    OpBuilder builder(op);
    Location loc = op.getLoc();
    func::FuncOp callee = declare(element);
    Type i32 = builder.getI32Type(), i64 = builder.getI64Type();
    auto constant32 = [&](int32_t v) -> Value {
      return arith::ConstantOp::create(builder, loc,
                                       builder.getIntegerAttr(i32, v));
    };
    auto dim = [&](Value v, int64_t i) -> Value {
      return arith::IndexCastOp::create(
          builder, loc, i64, memref::DimOp::create(builder, loc, v, i));
    };
    auto [pa, lda] = pointerAndLeadingDim(builder, loc, a);
    auto [pb, ldb] = pointerAndLeadingDim(builder, loc, b);
    auto [pc, ldc] = pointerAndLeadingDim(builder, loc, c);
    Value one = arith::ConstantOp::create(builder, loc,
                                          builder.getFloatAttr(element, 1.0));
    Value beta = overwrite
                     ? arith::ConstantOp::create(
                           builder, loc, builder.getFloatAttr(element, 0.0))
                     : one;
    SmallVector<Value> args = {constant32(kRowMajor),
                               constant32(transA ? kTrans : kNoTrans),
                               constant32(transB ? kTrans : kNoTrans),
                               dim(c, 0),
                               dim(c, 1),
                               dim(a, transA ? 0 : 1),
                               one,
                               pa,
                               lda,
                               pb,
                               ldb,
                               beta,
                               pc,
                               ldc};
    func::CallOp::create(builder, loc, callee, args);
    op.erase();
    return success();
  }

  /// `func.func private @taylor_cblas_?gemm(...)`, declared once.
  func::FuncOp declare(Type element) {
    ModuleOp module = getOperation();
    StringRef name =
        element.isF64() ? "taylor_cblas_dgemm" : "taylor_cblas_sgemm";
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
    MLIRContext *ctx = module.getContext();
    Type i32 = builder.getI32Type(), i64 = builder.getI64Type();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    auto type = builder.getFunctionType({i32, i32, i32, i64, i64, i64, element,
                                         ptr, i64, ptr, i64, element, ptr, i64},
                                        {});
    auto func = func::FuncOp::create(builder, module.getLoc(), name, type);
    func.setPrivate();
    return func;
  }
};

} // namespace
