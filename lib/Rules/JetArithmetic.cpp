//===- JetArithmetic.cpp - Building blocks of Taylor rules ----------------===//

#include "Taylor/Rules/JetArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/DenseMap.h"

#include <functional>
#include <map>

using namespace mlir;
using namespace mlir::taylor;

//===----------------------------------------------------------------------===//
// JetBuilder
//===----------------------------------------------------------------------===//

Value JetBuilder::add(Value lhs, Value rhs) {
  if (!lhs)
    return rhs;
  if (!rhs)
    return lhs;
  return arith::AddFOp::create(b, loc, lhs, rhs);
}

Value JetBuilder::sub(Value lhs, Value rhs) {
  if (!rhs)
    return lhs;
  if (!lhs)
    return neg(rhs);
  return arith::SubFOp::create(b, loc, lhs, rhs);
}

Value JetBuilder::neg(Value v) {
  if (!v)
    return v;
  return arith::NegFOp::create(b, loc, v);
}

Value JetBuilder::mul(Value lhs, Value rhs) {
  if (!lhs || !rhs)
    return Value();
  return arith::MulFOp::create(b, loc, lhs, rhs);
}

Value JetBuilder::scale(double c, Value v) {
  if (!v || c == 0.0)
    return Value();
  if (c == 1.0)
    return v;
  if (c == -1.0)
    return neg(v);
  return mul(constant(c), v);
}

Value JetBuilder::constant(double c) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, c));
}

Value JetBuilder::orZero(Value v) { return v ? v : constant(0.0); }

Value JetBuilder::polynomial(ArrayRef<double> coeffs, Value x) {
  // Horner's rule, skipping the work for trailing zeros and unit factors.
  Value acc;
  for (double c : llvm::reverse(coeffs)) {
    if (acc)
      acc = mul(acc, x);
    if (c != 0.0)
      acc = add(acc, constant(c));
  }
  return acc;
}

//===----------------------------------------------------------------------===//
// Faà di Bruno, Leibniz, quotients
//===----------------------------------------------------------------------===//

double mlir::taylor::binomial(unsigned n, unsigned k) {
  double result = 1.0;
  for (unsigned i = 1; i <= k; ++i)
    result = result * (n - k + i) / i;
  return result;
}

static double factorial(unsigned n) {
  double result = 1.0;
  for (unsigned i = 2; i <= n; ++i)
    result *= i;
  return result;
}

/// Calls `visit(multiplicities)` for every integer partition of `n`, where
/// `multiplicities[j]` is how often part `j` (1 <= j <= n) occurs.
static void
forEachPartition(unsigned n,
                 const std::function<void(ArrayRef<unsigned>)> &visit) {
  SmallVector<unsigned> multiplicities(n + 1, 0);
  std::function<void(unsigned, unsigned)> recurse = [&](unsigned remaining,
                                                        unsigned maxPart) {
    if (remaining == 0) {
      visit(multiplicities);
      return;
    }
    for (unsigned part = std::min(remaining, maxPart); part >= 1; --part) {
      ++multiplicities[part];
      recurse(remaining - part, part);
      --multiplicities[part];
    }
  };
  recurse(n, n);
}

CoefficientList mlir::taylor::faaDiBruno(JetBuilder &jb,
                                         ArrayRef<Value> derivatives,
                                         ArrayRef<Value> x, unsigned order) {
  CoefficientList result(order + 1, Value());
  // Powers x_j^m, built once and shared by the terms of every order.
  std::map<std::pair<unsigned, unsigned>, Value> powers;
  std::function<Value(unsigned, unsigned)> power = [&](unsigned j,
                                                       unsigned m) -> Value {
    if (m == 1)
      return x[j];
    auto it = powers.find({j, m});
    if (it != powers.end())
      return it->second;
    Value p = jb.mul(power(j, m - 1), x[j]);
    powers[{j, m}] = p;
    return p;
  };
  // Monomials Π_j x_j^{m_j}, shared across orders.
  std::map<SmallVector<unsigned>, Value> monomials;
  for (unsigned k = 1; k <= order; ++k) {
    Value fk;
    forEachPartition(k, [&](ArrayRef<unsigned> m) {
      unsigned numBlocks = 0;
      double denominator = 1.0;
      for (unsigned j = 1; j <= k; ++j) {
        if (m[j] == 0)
          continue;
        if (!x[j])
          return; // A zero factor: the whole term vanishes.
        numBlocks += m[j];
        denominator *= std::pow(factorial(j), m[j]) * factorial(m[j]);
      }
      Value derivative = derivatives[numBlocks - 1];
      if (!derivative)
        return;
      SmallVector<unsigned> key(m.begin(), m.end());
      Value monomial;
      auto it = monomials.find(key);
      if (it != monomials.end()) {
        monomial = it->second;
      } else {
        for (unsigned j = 1; j <= k; ++j)
          if (m[j] != 0)
            monomial = monomial ? jb.mul(monomial, power(j, m[j]))
                                : power(j, m[j]);
        monomials[key] = monomial;
      }
      double coefficient = factorial(k) / denominator;
      fk = jb.add(fk, jb.scale(coefficient, jb.mul(derivative, monomial)));
    });
    result[k] = fk;
  }
  return result;
}

CoefficientList mlir::taylor::leibniz(JetBuilder &jb, ArrayRef<Value> u,
                                      ArrayRef<Value> v, unsigned order) {
  CoefficientList result(order + 1, Value());
  for (unsigned k = 1; k <= order; ++k) {
    Value sum;
    for (unsigned j = 0; j <= k; ++j)
      sum = jb.add(sum, jb.scale(binomial(k, j), jb.mul(u[j], v[k - j])));
    result[k] = sum;
  }
  return result;
}

CoefficientList mlir::taylor::quotient(JetBuilder &jb, ArrayRef<Value> u,
                                       ArrayRef<Value> v, Value q0,
                                       unsigned order) {
  CoefficientList q(order + 1, Value());
  q[0] = q0;
  Value inverse;
  for (unsigned k = 1; k <= order; ++k) {
    Value numerator = u[k];
    for (unsigned j = 1; j <= k; ++j)
      numerator =
          jb.sub(numerator, jb.scale(binomial(k, j), jb.mul(v[j], q[k - j])));
    if (!numerator)
      continue;
    if (!inverse)
      inverse = arith::DivFOp::create(jb.getBuilder(), jb.getLoc(),
                                      jb.constant(1.0), v[0]);
    q[k] = jb.mul(numerator, inverse);
  }
  q[0] = Value();
  return q;
}

LogicalResult
mlir::taylor::requirePassiveOperands(Operation *op,
                                     ArrayRef<CoefficientList> operands,
                                     unsigned first) {
  for (unsigned i = first; i < operands.size(); ++i)
    if (!isPassive(operands[i]))
      return op->emitOpError()
             << "has no Taylor-mode rule for an active operand #" << i;
  return success();
}

//===----------------------------------------------------------------------===//
// Polynomial
//===----------------------------------------------------------------------===//

Polynomial Polynomial::derivative() const {
  SmallVector<double> d;
  for (size_t i = 1; i < c.size(); ++i)
    d.push_back(c[i] * i);
  return Polynomial(d);
}

Polynomial Polynomial::operator+(const Polynomial &other) const {
  SmallVector<double> s(std::max(c.size(), other.c.size()), 0.0);
  for (size_t i = 0; i < c.size(); ++i)
    s[i] += c[i];
  for (size_t i = 0; i < other.c.size(); ++i)
    s[i] += other.c[i];
  return Polynomial(s);
}

Polynomial Polynomial::operator*(const Polynomial &other) const {
  if (c.empty() || other.c.empty())
    return Polynomial();
  SmallVector<double> p(c.size() + other.c.size() - 1, 0.0);
  for (size_t i = 0; i < c.size(); ++i)
    for (size_t j = 0; j < other.c.size(); ++j)
      p[i + j] += c[i] * other.c[j];
  return Polynomial(p);
}

Polynomial Polynomial::operator*(double s) const {
  SmallVector<double> p(c);
  for (double &v : p)
    v *= s;
  return Polynomial(p);
}
