//===- TaylorLower.cpp - Lower taylor ops to tensor/linalg ----------------===//
//
// Implements the `taylor-lower` pass: function-local jets are replaced by
// their coefficient tensors, and `taylor.sum` becomes a linalg reduction over
// the direction dimension.
//
//===----------------------------------------------------------------------===//

#include "Taylor/IR/TaylorOps.h"
#include "Taylor/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace taylor {
#define GEN_PASS_DEF_TAYLORLOWER
#include "Taylor/Transforms/Passes.h.inc"
} // namespace taylor
} // namespace mlir

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Builds `Σ_r w_r x[r, ...]` for `x : tensor<R x T>`, returning a `T`.
/// `weights` is a `tensor<R x elt>` or null (all weights one).
Value buildDirectionSum(OpBuilder &builder, Location loc, Value x,
                        Value weights, RankedTensorType resultType) {
  auto xType = cast<RankedTensorType>(x.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0, e = resultType.getRank(); i < e; ++i)
    if (resultType.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(builder, loc, x, i + 1));
  Type elementType = resultType.getElementType();
  Value empty = tensor::EmptyOp::create(builder, loc, resultType.getShape(),
                                        elementType, dynamicSizes);
  Value zero = arith::ConstantOp::create(builder, loc, elementType,
                                         builder.getZeroAttr(elementType));
  Value init =
      linalg::FillOp::create(builder, loc, zero, empty).getResult(0);

  MLIRContext *ctx = builder.getContext();
  unsigned numLoops = xType.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(numLoops, ctx);
  AffineMap dropDirection = identity.dropResult(0);
  SmallVector<Value> inputs = {x};
  SmallVector<AffineMap> maps = {identity};
  if (weights) {
    inputs.push_back(weights);
    maps.push_back(AffineMap::get(numLoops, 0, builder.getAffineDimExpr(0)));
  }
  maps.push_back(dropDirection);
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  iterators[0] = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
        Value term = args[0];
        if (weights)
          term = arith::MulFOp::create(b, nestedLoc, term, args[1]);
        Value acc = arith::AddFOp::create(b, nestedLoc, args.back(), term);
        linalg::YieldOp::create(b, nestedLoc, acc);
      });
  return generic.getResult(0);
}

/// `taylor.sum` -> `taylor.make_jet` of the unchanged lower coefficients and
/// the reduced top coefficient.
struct LowerSumOp : public OpRewritePattern<SumOp> {
  LowerSumOp(MLIRContext *ctx, llvm::Statistic &counter)
      : OpRewritePattern<SumOp>(ctx), counter(counter) {}

  LogicalResult matchAndRewrite(SumOp op,
                                PatternRewriter &rewriter) const override {
    auto jetType = cast<JetType>(op.getJet().getType());
    Location loc = op.getLoc();
    unsigned order = jetType.getOrder();
    SmallVector<Value> coefficients;
    for (unsigned k = 0; k < order; ++k)
      coefficients.push_back(CoeffOp::create(rewriter, loc, op.getJet(), k));
    Value top = CoeffOp::create(rewriter, loc, op.getJet(), order);

    Value weights = op.getWeights();
    if (std::optional<ArrayRef<double>> staticWeights = op.getStaticWeights()) {
      Type elementType = jetType.getElementType();
      auto weightsType =
          RankedTensorType::get({jetType.getDirections()}, elementType);
      SmallVector<Attribute> values;
      for (double w : *staticWeights)
        values.push_back(rewriter.getFloatAttr(elementType, w));
      weights = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(weightsType, values));
    }
    coefficients.push_back(
        buildDirectionSum(rewriter, loc, top, weights, jetType.getValueType()));
    rewriter.replaceOpWithNewOp<MakeJetOp>(op, op.getType(), coefficients);
    ++counter;
    return success();
  }

  llvm::Statistic &counter;
};

/// Explains why a taylor op survived the lowering.
void reportUnlowered(Operation *op) {
  if (auto make = dyn_cast<MakeJetOp>(op)) {
    Operation *user = *make->getUsers().begin();
    make.emitOpError() << "cannot be lowered: its jet is used by '"
                       << user->getName()
                       << "', which has no lowering for jet operands";
    return;
  }
  Value jet = op->getOperand(0);
  InFlightDiagnostic diag = op->emitOpError()
                            << "cannot be lowered: its jet operand is ";
  if (Operation *def = jet.getDefiningOp())
    diag << "produced by '" << def->getName() << "'";
  else
    diag << "a block argument";
  diag << "; jets must be built by 'taylor.make_jet' in the same function";
}

struct TaylorLowerPass : public taylor::impl::TaylorLowerBase<TaylorLowerPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    for (Type type : func.getFunctionType().getInputs())
      if (isa<JetType>(type)) {
        func.emitOpError() << "has a jet argument of type " << type
                           << "; pass coefficient tensors and build the jet "
                              "with 'taylor.make_jet' instead";
        return signalPassFailure();
      }

    RewritePatternSet patterns(&getContext());
    patterns.add<LowerSumOp>(&getContext(), numSumsLowered);
    if (failed(applyPatternsGreedily(func, std::move(patterns)))) {
      func.emitOpError() << "taylor-lower did not converge";
      return signalPassFailure();
    }

    bool failedToLower = false;
    func.walk([&](Operation *op) {
      if (!isa<MakeJetOp, CoeffOp, SumOp>(op))
        return;
      reportUnlowered(op);
      failedToLower = true;
    });
    if (failedToLower)
      signalPassFailure();
  }
};

} // namespace
