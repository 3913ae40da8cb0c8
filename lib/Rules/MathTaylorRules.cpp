//===- MathTaylorRules.cpp - Taylor-mode rules of math ops ----------------===//
//
// Scalar rules (inside linalg bodies) of the math dialect. Every elementary
// function supplies its derivatives g^(1..K)(x_0) and the one Faà di Bruno
// engine combines them with the input coefficients; the derivatives of any
// order come from compile-time polynomial recurrences.
//
//===----------------------------------------------------------------------===//

#include "Taylor/Rules/JetArithmetic.h"
#include "Taylor/Rules/Rules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::taylor;

namespace {

/// Inputs of a derivative supplier.
struct Point {
  /// The op (for its extra operands, e.g. an exponent).
  Operation *op;
  /// x_0, the primal operand.
  Value x;
  /// g(x_0), the primal result.
  Value y;
};

using Derivatives = SmallVector<Value>;

/// `derivatives[j - 1] = c(j) * base * r^j` for j = 1..K, where `r` is
/// computed on demand.
static Derivatives scaledPowers(JetBuilder &jb, unsigned order, Value base,
                                Value r,
                                llvm::function_ref<double(unsigned)> c) {
  Derivatives d;
  Value power = base;
  for (unsigned j = 1; j <= order; ++j) {
    power = jb.mul(power, r);
    d.push_back(jb.scale(c(j), power));
  }
  return d;
}

static Value reciprocal(JetBuilder &jb, Value x) {
  return arith::DivFOp::create(jb.getBuilder(), jb.getLoc(), jb.constant(1.0),
                               x);
}

/// g^(j) = P_j(y) with P_1 = p1, P_{j+1} = P_j'(y) * p1(y): tanh, tan.
static Derivatives polynomialInY(JetBuilder &jb, unsigned order, Value y,
                                 const Polynomial &p1) {
  Derivatives d;
  Polynomial p = p1;
  for (unsigned j = 1; j <= order; ++j) {
    d.push_back(jb.polynomial(p.coefficients(), y));
    p = p.derivative() * p1;
  }
  return d;
}

Derivatives tanhDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return polynomialInY(jb, order, p.y, Polynomial({1.0, 0.0, -1.0}));
}

Derivatives tanDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return polynomialInY(jb, order, p.y, Polynomial({1.0, 0.0, 1.0}));
}

Derivatives expDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return Derivatives(order, p.y);
}

Derivatives exp2Derivatives(JetBuilder &jb, Point p, unsigned order) {
  return scaledPowers(jb, order, p.y, jb.constant(std::log(2.0)),
                      [](unsigned) { return 1.0; });
}

Derivatives expm1Derivatives(JetBuilder &jb, Point p, unsigned order) {
  return Derivatives(order, jb.add(p.y, jb.constant(1.0)));
}

/// log_b(u) with u = x + shift: g^(j) = (-1)^{j-1} (j-1)! / (ln b u^j).
static Derivatives logDerivatives(JetBuilder &jb, Point p, unsigned order,
                                  double shift, double base) {
  Value u = shift == 0.0 ? p.x : jb.add(p.x, jb.constant(shift));
  double scale = base == 0.0 ? 1.0 : 1.0 / std::log(base);
  double factorial = 1.0;
  return scaledPowers(jb, order, jb.constant(scale), reciprocal(jb, u),
                      [&](unsigned j) {
                        if (j > 1)
                          factorial *= (j - 1);
                        return (j % 2 == 1 ? 1.0 : -1.0) * factorial;
                      });
}

Derivatives lnDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return logDerivatives(jb, p, order, 0.0, 0.0);
}
Derivatives log1pDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return logDerivatives(jb, p, order, 1.0, 0.0);
}
Derivatives log2Derivatives(JetBuilder &jb, Point p, unsigned order) {
  return logDerivatives(jb, p, order, 0.0, 2.0);
}
Derivatives log10Derivatives(JetBuilder &jb, Point p, unsigned order) {
  return logDerivatives(jb, p, order, 0.0, 10.0);
}

/// Functions whose derivatives cycle with period 4 (sin, cos) or 2 (sinh,
/// cosh) through `{y, other, -y, -other}` / `{other, y}`.
template <typename OtherOp>
static Derivatives cyclic(JetBuilder &jb, Point p, unsigned order,
                          ArrayRef<int> pattern) {
  // pattern[i] for j % period == i: +1/-1 times y (|v| = 1) or other (2).
  Value other = OtherOp::create(jb.getBuilder(), jb.getLoc(), p.x);
  Derivatives d;
  for (unsigned j = 1; j <= order; ++j) {
    int code = pattern[j % pattern.size()];
    Value v = std::abs(code) == 1 ? p.y : other;
    d.push_back(code > 0 ? v : jb.neg(v));
  }
  return d;
}

Derivatives sinDerivatives(JetBuilder &jb, Point p, unsigned order) {
  // sin^(j): j%4 = 0: sin, 1: cos, 2: -sin, 3: -cos.
  return cyclic<math::CosOp>(jb, p, order, {1, 2, -1, -2});
}
Derivatives cosDerivatives(JetBuilder &jb, Point p, unsigned order) {
  // cos^(j): j%4 = 0: cos, 1: -sin, 2: -cos, 3: sin.
  return cyclic<math::SinOp>(jb, p, order, {1, -2, -1, 2});
}
Derivatives sinhDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return cyclic<math::CoshOp>(jb, p, order, {1, 2});
}
Derivatives coshDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return cyclic<math::SinhOp>(jb, p, order, {1, 2});
}

/// x^e for a compile-time e, from y = x^e: g^(j) = e (e-1)...(e-j+1) y / x^j.
static Derivatives constantPower(JetBuilder &jb, Point p, unsigned order,
                                 double e) {
  double falling = 1.0;
  return scaledPowers(jb, order, p.y, reciprocal(jb, p.x), [&](unsigned j) {
    falling *= e - (j - 1);
    return falling;
  });
}

Derivatives sqrtDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return constantPower(jb, p, order, 0.5);
}
Derivatives rsqrtDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return constantPower(jb, p, order, -0.5);
}
Derivatives cbrtDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return constantPower(jb, p, order, 1.0 / 3.0);
}

/// erf^(j)(x) = 2/sqrt(pi) Q_j(x) exp(-x^2), Q_1 = 1, Q_{j+1} = Q_j' - 2x Q_j.
Derivatives erfDerivatives(JetBuilder &jb, Point p, unsigned order) {
  OpBuilder &b = jb.getBuilder();
  Value gauss = math::ExpOp::create(b, jb.getLoc(), jb.neg(jb.mul(p.x, p.x)));
  Value scaled = jb.scale(2.0 / std::sqrt(M_PI), gauss);
  Derivatives d;
  Polynomial q({1.0});
  for (unsigned j = 1; j <= order; ++j) {
    d.push_back(jb.mul(jb.polynomial(q.coefficients(), p.x), scaled));
    q = q.derivative() + q * Polynomial({0.0, -2.0});
  }
  return d;
}

/// `a + b x^2` for a compile-time `a` and `b = ±1`.
static Value quadratic(JetBuilder &jb, Value x, double a, double b) {
  return jb.polynomial({a, 0.0, b}, x);
}

/// Functions with g' = 1 / u, u = a + b x^2 (atan: 1 + x^2, atanh: 1 - x^2):
/// g^(j) = P_j(x) / u^j, P_1 = 1, P_{j+1} = P_j' u - 2 j b x P_j.
static Derivatives inverseQuadratic(JetBuilder &jb, Value x, unsigned order,
                                    double a, double b) {
  Value inverse = reciprocal(jb, quadratic(jb, x, a, b));
  Polynomial u({a, 0.0, b});
  Derivatives d;
  Polynomial poly({1.0});
  Value power;
  for (unsigned j = 1; j <= order; ++j) {
    power = power ? jb.mul(power, inverse) : inverse;
    d.push_back(jb.mul(jb.polynomial(poly.coefficients(), x), power));
    poly = poly.derivative() * u + poly * Polynomial({0.0, -2.0 * j * b});
  }
  return d;
}

/// Functions with g' = s / u^{1/2}, u = a + b x^2 (asin: 1 - x^2, acos: the
/// same with s = -1, asinh: x^2 + 1, acosh: x^2 - 1):
/// g^(j) = P_j(x) / u^{j - 1/2}, P_1 = s,
/// P_{j+1} = P_j' u - (2j - 1) b x P_j.
static Derivatives inverseSqrtQuadratic(JetBuilder &jb, Value x, unsigned order,
                                        double a, double b, double s) {
  Value u = quadratic(jb, x, a, b);
  Value power =
      reciprocal(jb, math::SqrtOp::create(jb.getBuilder(), jb.getLoc(), u));
  Value inverse = order > 1 ? reciprocal(jb, u) : Value();
  Polynomial uPoly({a, 0.0, b});
  Derivatives d;
  Polynomial poly({s});
  for (unsigned j = 1; j <= order; ++j) {
    if (j > 1)
      power = jb.mul(power, inverse);
    d.push_back(jb.mul(jb.polynomial(poly.coefficients(), x), power));
    poly = poly.derivative() * uPoly +
           poly * Polynomial({0.0, -(2.0 * j - 1.0) * b});
  }
  return d;
}

Derivatives atanDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return inverseQuadratic(jb, p.x, order, 1.0, 1.0);
}
Derivatives atanhDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return inverseQuadratic(jb, p.x, order, 1.0, -1.0);
}
Derivatives asinDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return inverseSqrtQuadratic(jb, p.x, order, 1.0, -1.0, 1.0);
}
Derivatives acosDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return inverseSqrtQuadratic(jb, p.x, order, 1.0, -1.0, -1.0);
}
Derivatives asinhDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return inverseSqrtQuadratic(jb, p.x, order, 1.0, 1.0, 1.0);
}
Derivatives acoshDerivatives(JetBuilder &jb, Point p, unsigned order) {
  return inverseSqrtQuadratic(jb, p.x, order, -1.0, 1.0, 1.0);
}

/// |x|: derivative sign(x) (0 at 0, as in PyTorch), zero curvature.
Derivatives absDerivatives(JetBuilder &jb, Point p, unsigned order) {
  OpBuilder &b = jb.getBuilder();
  Location loc = jb.getLoc();
  Value zero = jb.constant(0.0);
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, p.x, zero);
  Value negative =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, p.x, zero);
  Value sign = arith::SelectOp::create(
      b, loc, positive, jb.constant(1.0),
      arith::SelectOp::create(b, loc, negative, jb.constant(-1.0), zero));
  Derivatives d(order, Value());
  d[0] = sign;
  return d;
}

/// Piecewise-constant functions (floor, ceil, round, trunc): all zero.
Derivatives zeroDerivatives(JetBuilder &, Point, unsigned order) {
  return Derivatives(order, Value());
}

/// x^p for a passive exponent p: g^(j) = p (p-1) ... (p-j+1) x^(p-j).
Derivatives powfDerivatives(JetBuilder &jb, Point p, unsigned order) {
  Value exponent = p.op->getOperand(1);
  Derivatives d;
  Value falling;
  for (unsigned j = 1; j <= order; ++j) {
    Value factor = jb.sub(exponent, j == 1 ? Value() : jb.constant(j - 1.0));
    falling = falling ? jb.mul(falling, factor) : factor;
    Value power = math::PowFOp::create(jb.getBuilder(), jb.getLoc(), p.x,
                                       jb.sub(exponent, jb.constant(j)));
    d.push_back(jb.mul(falling, power));
  }
  return d;
}

/// x^n for a passive integer n: g^(j) = n (n-1) ... (n-j+1) x^(n-j).
Derivatives fpowiDerivatives(JetBuilder &jb, Point p, unsigned order) {
  OpBuilder &b = jb.getBuilder();
  Location loc = jb.getLoc();
  Value n = p.op->getOperand(1);
  Type intType = n.getType();
  Value nFloat = arith::SIToFPOp::create(b, loc, jb.getType(), n);
  Derivatives d;
  Value falling;
  for (unsigned j = 1; j <= order; ++j) {
    Value factor = jb.sub(nFloat, j == 1 ? Value() : jb.constant(j - 1.0));
    falling = falling ? jb.mul(falling, factor) : factor;
    Value shift = arith::ConstantOp::create(b, loc, intType,
                                            b.getIntegerAttr(intType, j));
    Value power = math::FPowIOp::create(
        b, loc, p.x, arith::SubIOp::create(b, loc, n, shift));
    d.push_back(jb.mul(falling, power));
  }
  return d;
}

using DerivativeFn = Derivatives (*)(JetBuilder &, Point, unsigned);

/// One model for every elementwise function of one active operand.
template <typename OpTy, DerivativeFn Fn>
struct UnaryModel : ScalarRuleModel<UnaryModel<OpTy, Fn>, OpTy> {
  static FailureOr<CoefficientList> rule(OpTy op, JetBuilder &jb,
                                         const JetRuleContext &context,
                                         ArrayRef<CoefficientList> operands) {
    if (failed(requirePassiveOperands(op, operands, 1)))
      return failure();
    Point point{op, operands[0][0], op->getResult(0)};
    return faaDiBruno(jb, Fn(jb, point, context.order), operands[0],
                      context.order);
  }
};

/// x^y with an active exponent: exp(y log x), composed from the rules above.
struct PowFModel : ScalarRuleModel<PowFModel, math::PowFOp> {
  static CoefficientList rule(math::PowFOp op, JetBuilder &jb,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands) {
    unsigned order = context.order;
    if (isPassive(operands[1])) {
      Point point{op, operands[0][0], op.getResult()};
      return faaDiBruno(jb, powfDerivatives(jb, point, order), operands[0],
                        order);
    }
    Value x = operands[0][0];
    Value logX = math::LogOp::create(jb.getBuilder(), op.getLoc(), x);
    CoefficientList logJet = faaDiBruno(
        jb, lnDerivatives(jb, {op, x, logX}, order), operands[0], order);
    logJet[0] = logX;
    CoefficientList z = leibniz(jb, operands[1], logJet, order);
    z[0] = jb.mul(operands[1][0], logX);
    return faaDiBruno(jb, Derivatives(order, op.getResult()), z, order);
  }
};

/// atan2(y, x) = θ: θ' = (x y' - y x') / (x^2 + y^2). With w = θ' (w_m =
/// θ_{m+1}), N = x y' - y x' and r = x^2 + y^2 (Leibniz), w follows from
/// the quotient recurrence w_m = (N_m - Σ_{i=1..m} C(m, i) r_i w_{m-i}) /
/// r_0; defined everywhere but at the origin.
struct Atan2Model : ScalarRuleModel<Atan2Model, math::Atan2Op> {
  static CoefficientList rule(math::Atan2Op, JetBuilder &jb,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands) {
    unsigned order = context.order;
    ArrayRef<Value> y = operands[0], x = operands[1];
    CoefficientList theta(order + 1);
    if (isPassive(y) && isPassive(x))
      return theta;
    // N_m = Σ_{i=0..m} C(m, i) (x_i y_{m-i+1} - y_i x_{m-i+1}), m < K.
    CoefficientList numerator(order);
    for (unsigned m = 0; m < order; ++m)
      for (unsigned i = 0; i <= m; ++i)
        numerator[m] =
            jb.add(numerator[m], jb.scale(binomial(m, i),
                                          jb.sub(jb.mul(x[i], y[m - i + 1]),
                                                 jb.mul(y[i], x[m - i + 1]))));
    CoefficientList radius = leibniz(jb, x, x, order - 1);
    CoefficientList ySquared = leibniz(jb, y, y, order - 1);
    radius[0] = jb.add(jb.mul(x[0], x[0]), jb.mul(y[0], y[0]));
    for (unsigned m = 1; m < order; ++m)
      radius[m] = jb.add(radius[m], ySquared[m]);
    Value inverseRadius = reciprocal(jb, radius[0]);
    Value w0 = jb.mul(numerator[0], inverseRadius);
    CoefficientList w = quotient(jb, numerator, radius, w0, order - 1);
    theta[1] = w0;
    for (unsigned m = 1; m < order; ++m)
      theta[m + 1] = w[m];
    return theta;
  }
};

/// fma(a, b, c) = a * b + c.
struct FmaModel : ScalarRuleModel<FmaModel, math::FmaOp> {
  static CoefficientList rule(math::FmaOp, JetBuilder &jb,
                              const JetRuleContext &context,
                              ArrayRef<CoefficientList> operands) {
    CoefficientList f = leibniz(jb, operands[0], operands[1], context.order);
    for (unsigned k = 1; k <= context.order; ++k)
      f[k] = jb.add(f[k], operands[2][k]);
    return f;
  }
};

template <typename OpTy, DerivativeFn Fn> void attach(MLIRContext *ctx) {
  OpTy::template attachInterface<UnaryModel<OpTy, Fn>>(*ctx);
}

} // namespace

void mlir::taylor::registerMathTaylorRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, math::MathDialect *) {
    attach<math::TanhOp, tanhDerivatives>(ctx);
    attach<math::TanOp, tanDerivatives>(ctx);
    attach<math::ExpOp, expDerivatives>(ctx);
    attach<math::Exp2Op, exp2Derivatives>(ctx);
    attach<math::ExpM1Op, expm1Derivatives>(ctx);
    attach<math::LogOp, lnDerivatives>(ctx);
    attach<math::Log1pOp, log1pDerivatives>(ctx);
    attach<math::Log2Op, log2Derivatives>(ctx);
    attach<math::Log10Op, log10Derivatives>(ctx);
    attach<math::SinOp, sinDerivatives>(ctx);
    attach<math::CosOp, cosDerivatives>(ctx);
    attach<math::SinhOp, sinhDerivatives>(ctx);
    attach<math::CoshOp, coshDerivatives>(ctx);
    attach<math::SqrtOp, sqrtDerivatives>(ctx);
    attach<math::RsqrtOp, rsqrtDerivatives>(ctx);
    attach<math::CbrtOp, cbrtDerivatives>(ctx);
    attach<math::ErfOp, erfDerivatives>(ctx);
    attach<math::AtanOp, atanDerivatives>(ctx);
    attach<math::AtanhOp, atanhDerivatives>(ctx);
    attach<math::AsinOp, asinDerivatives>(ctx);
    attach<math::AcosOp, acosDerivatives>(ctx);
    attach<math::AsinhOp, asinhDerivatives>(ctx);
    attach<math::AcoshOp, acoshDerivatives>(ctx);
    attach<math::AbsFOp, absDerivatives>(ctx);
    attach<math::FloorOp, zeroDerivatives>(ctx);
    attach<math::CeilOp, zeroDerivatives>(ctx);
    attach<math::RoundOp, zeroDerivatives>(ctx);
    attach<math::RoundEvenOp, zeroDerivatives>(ctx);
    attach<math::TruncOp, zeroDerivatives>(ctx);
    attach<math::FPowIOp, fpowiDerivatives>(ctx);
    math::PowFOp::attachInterface<PowFModel>(*ctx);
    math::Atan2Op::attachInterface<Atan2Model>(*ctx);
    math::FmaOp::attachInterface<FmaModel>(*ctx);
  });
}
