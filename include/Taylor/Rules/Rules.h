//===- Rules.h - Taylor-mode rules of upstream ops --------------*- C++ -*-===//
//
// Registration of the external models that attach Taylor-mode rules to
// upstream ops, one function per upstream dialect, and shared helpers.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_RULES_RULES_H
#define TAYLOR_RULES_RULES_H

#include "Taylor/IR/TaylorInterfaces.h"

#include "mlir/IR/DialectRegistry.h"

namespace mlir {
namespace taylor {

/// Scalar rules of `arith` ops (in linalg bodies).
void registerArithTaylorRules(DialectRegistry &registry);
/// Scalar rules of `math` ops (in linalg bodies).
void registerMathTaylorRules(DialectRegistry &registry);
/// Rules of every `linalg` structured op, from its scalar body.
void registerLinalgTaylorRules(DialectRegistry &registry);
/// Rules of the shape-manipulating `tensor` ops.
void registerTensorTaylorRules(DialectRegistry &registry);

/// Registers the Taylor-mode rules of every supported upstream dialect.
inline void registerAllTaylorRules(DialectRegistry &registry) {
  registerArithTaylorRules(registry);
  registerMathTaylorRules(registry);
  registerLinalgTaylorRules(registry);
  registerTensorTaylorRules(registry);
}

/// Whether `value` is a tensor known to be all zeros (a zero splat constant,
/// or a `linalg.fill` of a zero constant).
bool isZeroTensor(Value value);

/// Materializes an all-zero coefficient tensor `tensor<R x T>` for the primal
/// value `primal : T` (dynamic sizes taken from `primal`).
Value createZeroCoefficient(OpBuilder &builder, Location loc, Value primal,
                            unsigned directions);

/// An uninitialized coefficient tensor `tensor<R x T>` for `primal : T`
/// (a `tensor.empty`, for outputs whose every element is written).
Value createEmptyCoefficient(OpBuilder &builder, Location loc, Value primal,
                             unsigned directions);

/// Coefficient `k` of `jet`, materializing a zero tensor if it is zero (for
/// ops that combine several operands and need every one of them).
Value coefficientOrZero(OpBuilder &builder, Location loc,
                        const CoefficientList &jet, unsigned k,
                        unsigned directions);

/// Materializes an all-zero tensor of the type of `like` (dynamic sizes taken
/// from `like`).
Value createZeroLike(OpBuilder &builder, Location loc, Value like);

/// The type `tensor<R x T>` of the higher coefficients of `primalType`.
RankedTensorType getDirectionalType(Type primalType, unsigned directions);

} // namespace taylor
} // namespace mlir

#endif // TAYLOR_RULES_RULES_H
