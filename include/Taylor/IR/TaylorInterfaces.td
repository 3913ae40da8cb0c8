//===- TaylorInterfaces.td - Taylor-mode rule interfaces ----*- tablegen -*-===//
//
// The interfaces through which ops (mostly upstream ops, via external models)
// tell the Taylor-mode transform how jets propagate through them.
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLORINTERFACES_TD
#define TAYLOR_IR_TAYLORINTERFACES_TD

include "mlir/IR/OpBase.td"

def Taylor_TaylorRuleOpInterface : OpInterface<"TaylorRuleOpInterface"> {
  let cppNamespace = "::mlir::taylor";
  let description = [{
    A tensor-level op that can push jets through itself: given the Taylor
    coefficients of its operands, it emits the Taylor coefficients of its
    results.

    Coefficient lists hold `K + 1` values: entry 0 is the primal value
    (`tensor<T>`), entries `1 .. K` are `tensor<R x T>` or null when the
    coefficient is identically zero. Passive operands (weights, inits,
    constants) have only zero higher coefficients.

    When the rule runs, the op itself has already been emitted on the primal
    operands: its results are coefficient 0 of the result jets.
  }];
  let methods = [
    InterfaceMethod<[{
        Emits coefficients `1 .. K` of every result of this op (entries 0 of
        `results` are this op's results) before the builder's insertion
        point. Returns failure, after emitting a diagnostic, if the op's
        configuration is not supported.
      }],
      "::llvm::LogicalResult", "propagateJets",
      (ins "::mlir::OpBuilder &":$builder,
           "const ::mlir::taylor::JetRuleContext &":$context,
           "::llvm::ArrayRef<::mlir::taylor::CoefficientList>":$operands,
           "::llvm::SmallVectorImpl<::mlir::taylor::CoefficientList> &":$results)>,
    InterfaceMethod<[{
        Whether the top coefficient of every result is linear in the top
        coefficients of the operands,

            f_K = J(x_0) · x_K + N_K(x_0, ..., x_{K-1}),

        with `J` the op's Jacobian, i.e. its order-1 rule applied to `x_K`.
        Then a weighted sum over directions of the results' top coefficients
        equals `J · (Σ_r w_r x_K^(r)) + Σ_r w_r N_K^(r)`, and `taylor-collapse`
        may move the sum from the results to the operands. This holds for
        every rule built from Taylor arithmetic (Faà di Bruno, Leibniz,
        linear maps); a rule that is not of this form returns false, and
        `taylor-collapse` stops at it.
      }],
      "bool", "isTopCoefficientLinear", (ins), /*methodBody=*/"",
      /*defaultImplementation=*/[{ return true; }]>,
    InterfaceMethod<[{
        Collapsed propagation: the operand lists hold `x_0 .. x_{K-1}` as for
        `propagateJets` and, in entry `K`, the summed top coefficient
        `X_K = Σ_r w_r x_K^(r)` (the primal type, no direction dimension;
        null if zero). Emits `f_1 .. f_{K-1}` per direction and the summed
        top coefficient `F_K = J · X_K + Σ_r w_r N_K^(r)` of every result.
        `weights` is a `tensor<R x elt>`, or null for all-ones weights.

        Every model provides it (there is no default: the by-parts
        algorithm lives in the rules library, above this interface). Models
        whose top coefficient is linear and that have nothing better opt in
        to the generic algorithm by deriving from `TaylorRuleByPartsModel`
        (`Taylor/Rules/Rules.h`): `propagateJets` with `x_K = 0` (giving
        `N_K^(r)`), a reduction over the directions, and the linear map
        `J · X_K` (`propagateJets` at order 1 with one direction). Others
        fuse the reduction into the code that computes `N_K^(r)`.
      }],
      "::llvm::LogicalResult", "propagateCollapsedJets",
      (ins "::mlir::OpBuilder &":$builder,
           "const ::mlir::taylor::JetRuleContext &":$context,
           "::llvm::ArrayRef<::mlir::taylor::CoefficientList>":$operands,
           "::mlir::Value":$weights,
           "::llvm::SmallVectorImpl<::mlir::taylor::CoefficientList> &":$results)>
  ];
}

def Taylor_ScalarTaylorRuleOpInterface
    : OpInterface<"ScalarTaylorRuleOpInterface"> {
  let cppNamespace = "::mlir::taylor";
  let description = [{
    A scalar op (in the body of a `linalg` structured op) that can push
    scalar jets through itself. Coefficient lists as for
    `TaylorRuleOpInterface`, with scalars for every entry: inside the
    generated loop nest, each coefficient is the value for one direction.
  }];
  let methods = [
    InterfaceMethod<[{
        Emits coefficients `1 .. K` of every result (entries 0 of `results`
        are this op's results, already emitted on the primal operands).
      }],
      "::llvm::LogicalResult", "propagateScalarJets",
      (ins "::mlir::OpBuilder &":$builder,
           "const ::mlir::taylor::JetRuleContext &":$context,
           "::llvm::ArrayRef<::mlir::taylor::CoefficientList>":$operands,
           "::llvm::SmallVectorImpl<::mlir::taylor::CoefficientList> &":$results)>
  ];
}

def Taylor_AdjointRuleOpInterface : OpInterface<"AdjointRuleOpInterface"> {
  let cppNamespace = "::mlir::taylor";
  let description = [{
    A tensor-level op that can pull adjoints (cotangents) back through
    itself: given the adjoints of its results, it adds the vector-Jacobian
    products to the adjoints of its active operands. This is what
    `taylor-reverse` asks of every op on the path from a differentiated
    argument to a differentiated result.

    The rule runs after every primal op, so it may read any primal value
    (store-all at the granularity of tensors); what it needs from inside a
    structured op's body (e.g. `tanh(x)`) it recomputes from the stored
    operands. Adjoints are read and accumulated through `AdjointState`.
  }];
  let methods = [
    InterfaceMethod<[{
        Emits, before the builder's insertion point, the contributions of the
        adjoints of this op's results (`state.getAdjoint(result)`, null when
        zero) to the adjoints of its operands for which `state.isActive`
        holds. Returns failure, after emitting a diagnostic, if the op's
        configuration has no adjoint.
      }],
      "::llvm::LogicalResult", "buildAdjoint",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::taylor::AdjointState &":$state)>
  ];
}

#endif // TAYLOR_IR_TAYLORINTERFACES_TD
