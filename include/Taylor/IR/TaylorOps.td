//===- TaylorOps.td - Taylor dialect operations -------------*- tablegen -*-===//

#ifndef TAYLOR_IR_TAYLOROPS_TD
#define TAYLOR_IR_TAYLOROPS_TD

include "Taylor/IR/TaylorDialect.td"
include "Taylor/IR/TaylorTypes.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Taylor_AnyJet : Type<CPred<"::llvm::isa<::mlir::taylor::JetType>($_self)">,
                         "jet", "::mlir::taylor::JetType">;

//===----------------------------------------------------------------------===//
// make_jet
//===----------------------------------------------------------------------===//

def Taylor_MakeJetOp : Taylor_Op<"make_jet", [Pure]> {
  let summary = "build a jet from its coefficient tensors";
  let description = [{
    Packs `K + 1` coefficient tensors into a jet of order `K`. Operand `k` is
    coefficient `k` and must have the type that the result jet type assigns to
    it: the primal type for coefficient 0, the primal type with a leading
    direction dimension of size `R` for the others, and the primal type for
    the top coefficient of a collapsed jet.

    Example:

    ```mlir
    %j = taylor.make_jet %x0, %x1, %x2
        : tensor<4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
        -> !taylor.jet<2, 3, tensor<4xf64>>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$coefficients);
  let results = (outs Taylor_AnyJet:$result);
  let assemblyFormat = [{
    $coefficients attr-dict `:` type($coefficients) `->` qualified(type($result))
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::taylor::JetType getType() {
      return ::llvm::cast<::mlir::taylor::JetType>(getResult().getType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// coeff
//===----------------------------------------------------------------------===//

def Taylor_CoeffOp : Taylor_Op<"coeff", [Pure,
    InferTypeOpAdaptor]> {
  let summary = "extract Taylor coefficient k of a jet";
  let description = [{
    Returns coefficient `index` of `jet`, `0 <= index <= K`. Its type follows
    from the jet type: see `!taylor.jet`.

    Example:

    ```mlir
    %f2 = taylor.coeff %j[2] : !taylor.jet<2, 3, tensor<4xf64>> -> tensor<3x4xf64>
    %s2 = taylor.coeff %c[2]
        : !taylor.jet<2, 3, tensor<4xf64>, collapsed> -> tensor<4xf64>
    ```
  }];
  let arguments = (ins Taylor_AnyJet:$jet,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$index);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $jet `[` $index `]` attr-dict `:` qualified(type($jet)) `->` type($result)
  }];
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// sum
//===----------------------------------------------------------------------===//

def Taylor_SumOp : Taylor_Op<"sum", [Pure,
    InferTypeOpAdaptor]> {
  let summary = "weighted sum over directions of a jet's top coefficient";
  let description = [{
    Turns a standard jet into a collapsed one: the top coefficient becomes
    `Σ_r w_r f_K^(r)`; coefficients `0 .. K-1` are unchanged. The weights
    `w_r` are either

    - absent: all ones;
    - `static_weights`: `R` compile-time values;
    - `weights`: a runtime tensor `tensor<R x elt>` with the jet's element type.

    This is the op that `taylor-collapse` pushes from the outputs of a
    program towards its inputs.

    Example:

    ```mlir
    %lap = taylor.sum %j
        : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
    %wl = taylor.sum %j static_weights [1.0, 2.0, 3.0]
        : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
    %rl = taylor.sum %j weights(%w : tensor<3xf64>)
        : !taylor.jet<2, 3, tensor<4xf64>> -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
    ```
  }];
  let arguments = (ins Taylor_AnyJet:$jet,
                       Optional<1DTensorOf<[AnyFloat]>>:$weights,
                       OptionalAttr<DenseF64ArrayAttr>:$static_weights);
  let results = (outs Taylor_AnyJet:$result);
  let assemblyFormat = [{
    $jet (`weights` `(` $weights^ `:` type($weights) `)`)?
    (`static_weights` $static_weights^)?
    attr-dict `:` qualified(type($jet)) `->` qualified(type($result))
  }];
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Value":$jet,
                   CArg<"::mlir::Value", "{}">:$weights)>,
    OpBuilder<(ins "::mlir::Value":$jet,
                   "::llvm::ArrayRef<double>":$staticWeights)>
  ];
}

//===----------------------------------------------------------------------===//
// propagate
//===----------------------------------------------------------------------===//

def Taylor_PropagateOp : Taylor_Op<"propagate", [IsolatedFromAbove,
    RecursiveMemoryEffects, SingleBlock, AttrSizedOperandSegments]> {
  let summary = "push jets through one op";
  let description = [{
    Wraps one op of the original program (its *primal op*) whose operands
    include jets. The region's block arguments stand for the primal values of
    the operands (the value type of a jet operand, the operand itself for a
    passive one); the body holds the primal op, and possibly constants it
    uses, and yields the primal op's results. A result is a jet when it is a
    floating-point tensor, and has the yielded type otherwise.

    `taylor-lower` expands the op with the primal op's Taylor rule
    (`TaylorRuleOpInterface`); `taylor-jet` creates these ops. All jets of
    one `propagate` have the same order and number of directions, and are
    either all standard or all collapsed.

    A *collapsed* `propagate` (created by `taylor-collapse`) takes and returns
    collapsed jets, whose top coefficient is the weighted sum over directions
    `Σ_r w_r f_K^(r)`. It carries the weights of that sum, like `taylor.sum`:
    none (all ones), `static_weights`, or a runtime `weights` tensor. Its
    rule computes the results' summed top coefficient
    `J · (Σ_r w_r x_K^(r)) + Σ_r w_r N_K^(r)`, the second sum being over the
    nonlinear contributions of the lower coefficients only.

    Example:

    ```mlir
    %y = taylor.propagate(%x, %w, %init)
        : (!taylor.jet<2, 3, tensor<4x5xf64>>, tensor<5x6xf64>, tensor<4x6xf64>)
        -> !taylor.jet<2, 3, tensor<4x6xf64>> {
    ^bb0(%px: tensor<4x5xf64>, %pw: tensor<5x6xf64>, %pi: tensor<4x6xf64>):
      %0 = linalg.matmul ins(%px, %pw : tensor<4x5xf64>, tensor<5x6xf64>)
                         outs(%pi : tensor<4x6xf64>) -> tensor<4x6xf64>
      taylor.yield %0 : tensor<4x6xf64>
    }
    ```

    The same op on collapsed jets, the top coefficients summed with weights
    1, 2, 3:

    ```mlir
    %y = taylor.propagate(%x, %w, %init) static_weights [1.0, 2.0, 3.0]
        : (!taylor.jet<2, 3, tensor<4x5xf64>, collapsed>, tensor<5x6xf64>,
           tensor<4x6xf64>) -> !taylor.jet<2, 3, tensor<4x6xf64>, collapsed> {
      ...
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs,
                       Optional<1DTensorOf<[AnyFloat]>>:$weights,
                       OptionalAttr<DenseF64ArrayAttr>:$static_weights);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` (`weights` `(` $weights^ `:` type($weights) `)`)?
    (`static_weights` $static_weights^)?
    attr-dict `:` functional-type($inputs, results) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The wrapped op of the original program.
    ::mlir::Operation *getPrimalOp();
    /// The primal type of `type`: the value type of a jet, `type` otherwise.
    static ::mlir::Type getPrimalType(::mlir::Type type);
    /// Whether the jets of this op are collapsed.
    bool isCollapsed();
  }];
}

def Taylor_YieldOp : Taylor_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"PropagateOp">]> {
  let summary = "terminator of taylor.propagate";
  let description = [{
    Yields the primal op's results from the body of `taylor.propagate`.
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = [{ ($values^ `:` type($values))? attr-dict }];
}

include "Taylor/IR/TaylorMatrixOps.td"

#endif // TAYLOR_IR_TAYLOROPS_TD
