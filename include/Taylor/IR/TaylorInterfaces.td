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

#endif // TAYLOR_IR_TAYLORINTERFACES_TD
