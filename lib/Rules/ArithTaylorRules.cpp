//===- ArithTaylorRules.cpp - Taylor-mode rules of arith ops --------------===//
//
// Scalar rules (inside linalg bodies) of the arith dialect: linear ops,
// Leibniz' rule for products, the quotient recurrence, and the first-order
// rules of piecewise-linear selections (max, min, select).
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/JetArithmetic.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// addf / subf: the operation applied to every coefficient.
template <typename OpTy, Value (JetBuilder::*Combine)(Value, Value)>
struct CoefficientwiseModel
    : ScalarRuleModel<CoefficientwiseModel<OpTy, Combine>, OpTy> {
  static CoefficientList rule(OpTy, JetBuilder &jb, const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    CoefficientList r(ctx.order + 1);
    for (unsigned k = 1; k <= ctx.order; ++k)
      r[k] = (jb.*Combine)(x[0][k], x[1][k]);
    return r;
  }
};

struct NegFModel : ScalarRuleModel<NegFModel, arith::NegFOp> {
  static CoefficientList rule(arith::NegFOp, JetBuilder &jb,
                              const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    CoefficientList r(ctx.order + 1);
    for (unsigned k = 1; k <= ctx.order; ++k)
      r[k] = jb.neg(x[0][k]);
    return r;
  }
};

struct MulFModel : ScalarRuleModel<MulFModel, arith::MulFOp> {
  static CoefficientList rule(arith::MulFOp, JetBuilder &jb,
                              const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    return leibniz(jb, x[0], x[1], ctx.order);
  }
};

struct DivFModel : ScalarRuleModel<DivFModel, arith::DivFOp> {
  static CoefficientList rule(arith::DivFOp op, JetBuilder &jb,
                              const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    return quotient(jb, x[0], x[1], op.getResult(), ctx.order);
  }
};

/// extf / truncf: the cast applied to every coefficient.
template <typename CastOp>
struct FloatCastModel : ScalarRuleModel<FloatCastModel<CastOp>, CastOp> {
  static CoefficientList rule(CastOp op, JetBuilder &jb,
                              const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    CoefficientList r(ctx.order + 1);
    for (unsigned k = 1; k <= ctx.order; ++k)
      if (x[0][k])
        r[k] = CastOp::create(jb.getBuilder(), jb.getLoc(), op.getType(),
                              x[0][k]);
    return r;
  }
};

/// Coefficient k of `select(pick, a, b)`, materializing a zero only when
/// one side is zero and the other is not.
static Value selectCoefficient(JetBuilder &jb, Value pick, Value a, Value b) {
  if (!a && !b)
    return Value();
  return arith::SelectOp::create(jb.getBuilder(), jb.getLoc(), pick,
                                 jb.orZero(a), jb.orZero(b));
}

/// max / min: the coefficients of the operand the primal picks (the first
/// order rule of a piecewise-linear function; zero curvature). Ties pick the
/// second operand, so that relu(x) = max(x, 0) has derivative 0 at 0, as in
/// PyTorch.
template <typename OpTy, arith::CmpFPredicate Predicate>
struct PickModel : ScalarRuleModel<PickModel<OpTy, Predicate>, OpTy> {
  static CoefficientList rule(OpTy op, JetBuilder &jb,
                              const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    CoefficientList r(ctx.order + 1);
    if (isPassive(x[0]) && isPassive(x[1]))
      return r;
    Value pick = arith::CmpFOp::create(jb.getBuilder(), jb.getLoc(), Predicate,
                                       x[0][0], x[1][0]);
    for (unsigned k = 1; k <= ctx.order; ++k)
      r[k] = selectCoefficient(jb, pick, x[0][k], x[1][k]);
    return r;
  }
};

struct SelectModel : ScalarRuleModel<SelectModel, arith::SelectOp> {
  static CoefficientList rule(arith::SelectOp, JetBuilder &jb,
                              const JetRuleContext &ctx,
                              ArrayRef<CoefficientList> x) {
    CoefficientList r(ctx.order + 1);
    for (unsigned k = 1; k <= ctx.order; ++k)
      r[k] = selectCoefficient(jb, x[0][0], x[1][k], x[2][k]);
    return r;
  }
};

} // namespace

void mlir::taylor::registerArithTaylorRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    arith::AddFOp::attachInterface<
        CoefficientwiseModel<arith::AddFOp, &JetBuilder::add>>(*ctx);
    arith::SubFOp::attachInterface<
        CoefficientwiseModel<arith::SubFOp, &JetBuilder::sub>>(*ctx);
    arith::NegFOp::attachInterface<NegFModel>(*ctx);
    arith::MulFOp::attachInterface<MulFModel>(*ctx);
    arith::DivFOp::attachInterface<DivFModel>(*ctx);
    arith::ExtFOp::attachInterface<FloatCastModel<arith::ExtFOp>>(*ctx);
    arith::TruncFOp::attachInterface<FloatCastModel<arith::TruncFOp>>(*ctx);
    arith::MaximumFOp::attachInterface<
        PickModel<arith::MaximumFOp, arith::CmpFPredicate::OGT>>(*ctx);
    arith::MaxNumFOp::attachInterface<
        PickModel<arith::MaxNumFOp, arith::CmpFPredicate::OGT>>(*ctx);
    arith::MinimumFOp::attachInterface<
        PickModel<arith::MinimumFOp, arith::CmpFPredicate::OLT>>(*ctx);
    arith::MinNumFOp::attachInterface<
        PickModel<arith::MinNumFOp, arith::CmpFPredicate::OLT>>(*ctx);
    arith::SelectOp::attachInterface<SelectModel>(*ctx);
  });
}
