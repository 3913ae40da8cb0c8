//===- GemmToBlas.cpp - Matrix products as BLAS calls ---------------------===//
//
// Implements `taylor-gemm-to-blas`. After bufferization, every
// `linalg.matmul` (`c[m, n] += a * b` on 2-D memrefs of f32 or f64, `a` and
// `b` possibly transposed through `indexing_maps`, as
// `taylor-contractions-to-gemm` emits them) whose operands each have a unit
// stride becomes a call of the runtime's `taylor_rt_gemm_f64` /
// `taylor_rt_gemm_f32` (lib/Runtime): `c = a · b + beta · c` on memref
// descriptors of the operands' logical shapes a[M, K], b[K, N], c[M, N] (a
// transposed operand as a `memref.transpose` view), cast to the fully
// dynamic strided type; the callee picks the BLAS call from the strides at
// run time. The product accumulates into `c` (beta = 1), unless `c` was just
// filled with zeros: then the fill is dropped and the call overwrites `c`
// (beta = 0).
//
// The buffers are passed as memrefs, not as raw pointers: the call is an
// ordinary use of each of them, visible to ownership-based deallocation and
// to `taylor-early-dealloc`. The pass may therefore run before or after the
// deallocation pipeline; `taylor-to-llvm` runs it after (the zero-fill
// search then sees the final allocations).
//
// With `library=cublas` (the CUDA pipelines) the callees are the runtime's
// cuBLAS shim, `taylor_rt_cublas_gemm_f64` / `_f32`: same signature and
// meaning, on buffers in device memory.
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

/// Whether `type` is 2-D with a stride statically 1 (row- or column-major).
bool hasUnitStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() != 2 || failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return llvm::is_contained(strides, 1);
}

/// The fully dynamic strided 2-D memref type of the runtime's GEMM operands.
MemRefType getGemmOperandType(Type element) {
  int64_t dynamic = ShapedType::kDynamic;
  return MemRefType::get({dynamic, dynamic}, element,
                         StridedLayoutAttr::get(element.getContext(), dynamic,
                                                {dynamic, dynamic}));
}

/// `value` as the runtime's operand type: transposed first with
/// `transpose` (a `memref.transpose` view), then `memref.cast`.
Value asGemmOperand(OpBuilder &b, Location loc, Value value, bool transpose) {
  if (transpose) {
    MLIRContext *ctx = b.getContext();
    AffineMap swap = AffineMap::get(
        2, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(0, ctx)}, ctx);
    value =
        memref::TransposeOp::create(b, loc, value, AffineMapAttr::get(swap));
  }
  Type element = cast<MemRefType>(value.getType()).getElementType();
  return memref::CastOp::create(b, loc, getGemmOperandType(element), value);
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
        op->emitRemark() << "taylor-gemm-to-blas: left as loops (an operand "
                            "without a unit stride)";
        continue;
      }
      ++numCalls;
      if (fill) {
        fill.erase();
        ++numZeroFillsDropped;
      }
    }
  }

  /// Replaces `op` by a call of the runtime's GEMM; with `overwrite`, the
  /// call ignores what `c` holds (beta = 0).
  LogicalResult rewrite(linalg::MatmulOp op, bool overwrite) {
    Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    for (Value v : {a, b, c})
      if (!hasUnitStride(cast<MemRefType>(v.getType())))
        return failure();
    Type element = cast<MemRefType>(c.getType()).getElementType();
    MLIRContext *ctx = op.getContext();
    AffineExpr k = getAffineDimExpr(2, ctx);
    bool transA = op.getIndexingMapsArray()[0].getResult(0) == k;
    bool transB = op.getIndexingMapsArray()[1].getResult(1) == k;

    OpBuilder builder(op);
    Location loc = op.getLoc();
    func::FuncOp callee = declare(element);
    Value beta = arith::ConstantOp::create(
        builder, loc, builder.getFloatAttr(element, overwrite ? 0.0 : 1.0));
    func::CallOp::create(builder, loc, callee,
                         ValueRange{asGemmOperand(builder, loc, a, transA),
                                    asGemmOperand(builder, loc, b, transB),
                                    asGemmOperand(builder, loc, c, false),
                                    beta});
    op.erase();
    return success();
  }

  /// `func.func private @taylor_rt_gemm_f64/f32(a, b, c, beta)` (or
  /// `@taylor_rt_cublas_gemm_*` with `library=cublas`) with the C interface
  /// (memref descriptors by pointer), declared once.
  func::FuncOp declare(Type element) {
    ModuleOp module = getOperation();
    bool cublas = library == taylor::GemmLibrary::CUBLAS;
    StringRef name =
        element.isF64()
            ? (cublas ? "taylor_rt_cublas_gemm_f64" : "taylor_rt_gemm_f64")
            : (cublas ? "taylor_rt_cublas_gemm_f32" : "taylor_rt_gemm_f32");
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
    MemRefType operand = getGemmOperandType(element);
    auto type =
        builder.getFunctionType({operand, operand, operand, element}, {});
    auto func = func::FuncOp::create(builder, module.getLoc(), name, type);
    func.setPrivate();
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  builder.getUnitAttr());
    return func;
  }
};

} // namespace
