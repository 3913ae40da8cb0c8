//===- TaylorInterfaces.h - Taylor-mode rule interfaces ---------*- C++ -*-===//
//
// Coefficient lists and the interfaces through which ops propagate jets.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLORINTERFACES_H
#define TAYLOR_IR_TAYLORINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir {
namespace taylor {

/// Taylor coefficients 0 .. K of one value. Entry 0 is the primal value and
/// is never null; a null entry k >= 1 stands for an identically zero
/// coefficient (never materialized).
using CoefficientList = SmallVector<Value, 4>;

/// What a rule needs to know about the transform it is part of.
struct JetRuleContext {
  /// Taylor order K.
  unsigned order;
  /// Number of directions R.
  unsigned directions;

  /// Returns a list for a passive value: `primal` and K zero coefficients.
  CoefficientList passive(Value primal) const {
    CoefficientList list(order + 1, Value());
    list[0] = primal;
    return list;
  }
};

/// Whether every higher coefficient of `list` is zero.
inline bool isPassive(ArrayRef<Value> list) {
  return llvm::all_of(list.drop_front(), [](Value v) { return !v; });
}

/// The adjoints (cotangents) of the values of a function being reversed, as
/// seen by the adjoint rules (`AdjointRuleOpInterface`). A null adjoint is
/// identically zero. Implemented by `taylor-reverse`.
class AdjointState {
public:
  virtual ~AdjointState() = default;
  /// Whether `primal` needs an adjoint: a floating-point tensor that depends
  /// on a differentiated argument and influences a differentiated result.
  virtual bool isActive(Value primal) const = 0;
  /// The adjoint accumulated so far for `primal` (null: zero).
  virtual Value getAdjoint(Value primal) const = 0;
  /// Replaces the adjoint of `primal` by `adjoint`, which must already
  /// include the previously accumulated one (rules that accumulate in place).
  virtual void setAdjoint(Value primal, Value adjoint) = 0;
  /// Adds `contribution` (of `primal`'s type) to the adjoint of `primal`.
  virtual void addToAdjoint(OpBuilder &builder, Location loc, Value primal,
                            Value contribution) = 0;
};

} // namespace taylor
} // namespace mlir

#include "Taylor/IR/TaylorInterfaces.h.inc"

#endif // TAYLOR_IR_TAYLORINTERFACES_H
