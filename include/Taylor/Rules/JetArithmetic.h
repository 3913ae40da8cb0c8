//===- JetArithmetic.h - Building blocks of Taylor rules --------*- C++ -*-===//
//
// Arithmetic on Taylor coefficients where a null Value is an identically zero
// coefficient, the Faà di Bruno engine, and compile-time polynomials for the
// derivatives of elementary functions.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RULES_JETARITHMETIC_H
#define TAYLOR_RULES_JETARITHMETIC_H

#include "Taylor/IR/TaylorInterfaces.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace mlir {
namespace taylor {

/// Scalar (or elementwise tensor) arithmetic in which a null Value is zero.
/// All values of one `JetBuilder` have the same type.
class JetBuilder {
public:
  JetBuilder(OpBuilder &builder, Location loc, Type type)
      : b(builder), loc(loc), type(type) {}

  /// `a + b`.
  Value add(Value lhs, Value rhs);
  /// `a - b`.
  Value sub(Value lhs, Value rhs);
  /// `-a`.
  Value neg(Value v);
  /// `a * b`.
  Value mul(Value lhs, Value rhs);
  /// `c * a` for a compile-time constant `c` (0 gives null, 1 gives `a`).
  Value scale(double c, Value v);
  /// A constant of the builder's (scalar) type.
  Value constant(double c);
  /// `v` if non-null, else a materialized zero.
  Value orZero(Value v);
  /// Evaluates the polynomial `Σ_i coeffs[i] x^i` by Horner's rule.
  Value polynomial(ArrayRef<double> coeffs, Value x);

  OpBuilder &getBuilder() { return b; }
  Location getLoc() const { return loc; }
  Type getType() const { return type; }

private:
  OpBuilder &b;
  Location loc;
  Type type;
};

/// Faà di Bruno's formula: the coefficients `f_1 .. f_K` of `g(x(t))` from
/// the derivatives `g^(j)(x_0)` (`derivatives[j - 1]`, j = 1..K, null = 0)
/// and the coefficients `x_1 .. x_K` (`x[k]`, null = 0; `x[0]` unused):
///
///   f_k = Σ_{partitions λ of k} k! / Π_j (j!^{m_j} m_j!)
///                               · g^(|λ|)(x_0) · Π_j x_j^{m_j}
///
/// where `m_j` is the multiplicity of part `j` in `λ`. Terms with a zero
/// factor are never built. Returns a list with entry 0 null.
CoefficientList faaDiBruno(JetBuilder &jb, ArrayRef<Value> derivatives,
                           ArrayRef<Value> x, unsigned order);

/// Leibniz' rule: coefficients `1 .. K` of `u * v`,
/// `(uv)_k = Σ_j C(k, j) u_j v_{k-j}`. Entry 0 of the result is null.
CoefficientList leibniz(JetBuilder &jb, ArrayRef<Value> u, ArrayRef<Value> v,
                        unsigned order);

/// The quotient recurrence: coefficients `1 .. K` of `q = u / v`, given
/// `q_0`: `q_k = (u_k - Σ_{j=1..k} C(k, j) v_j q_{k-j}) / v_0`.
CoefficientList quotient(JetBuilder &jb, ArrayRef<Value> u, ArrayRef<Value> v,
                         Value q0, unsigned order);

/// Emits an error on `op` unless `operands[first..]` are all passive (for
/// rules that differentiate with respect to the leading operands only).
LogicalResult requirePassiveOperands(Operation *op,
                                     ArrayRef<CoefficientList> operands,
                                     unsigned first);

/// Base of the scalar models of single-result ops: `Derived::rule(op, jb,
/// context, operands)` returns the coefficients 1..K of the result (entry 0
/// unused), or failure after a diagnostic.
template <typename Derived, typename OpTy>
struct ScalarRuleModel
    : public ScalarTaylorRuleOpInterface::ExternalModel<Derived, OpTy> {
  LogicalResult
  propagateScalarJets(Operation *op, OpBuilder &builder,
                      const JetRuleContext &context,
                      ArrayRef<CoefficientList> operands,
                      SmallVectorImpl<CoefficientList> &results) const {
    JetBuilder jb(builder, op->getLoc(), op->getResult(0).getType());
    FailureOr<CoefficientList> coefficients =
        Derived::rule(cast<OpTy>(op), jb, context, operands);
    if (failed(coefficients))
      return failure();
    for (unsigned k = 1; k <= context.order; ++k)
      results[0][k] = (*coefficients)[k];
    return success();
  }
};

/// A polynomial with compile-time coefficients, lowest degree first.
class Polynomial {
public:
  Polynomial() = default;
  explicit Polynomial(SmallVector<double> coeffs) : c(std::move(coeffs)) {}

  Polynomial derivative() const;
  Polynomial operator+(const Polynomial &other) const;
  Polynomial operator*(const Polynomial &other) const;
  Polynomial operator*(double s) const;
  ArrayRef<double> coefficients() const { return c; }

private:
  SmallVector<double> c;
};

/// The binomial coefficient C(n, k).
double binomial(unsigned n, unsigned k);

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_RULES_JETARITHMETIC_H
