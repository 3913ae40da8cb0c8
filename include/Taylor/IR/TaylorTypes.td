//===- TaylorTypes.td - Taylor dialect types ----------------*- tablegen -*-===//

#ifndef TAYLOR_IR_TAYLORTYPES_TD
#define TAYLOR_IR_TAYLORTYPES_TD

include "Taylor/IR/TaylorDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

class Taylor_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Taylor_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Taylor_JetType : Taylor_Type<"Jet", "jet"> {
  let summary = "a K-jet of a tensor along R directions";
  let description = [{
    A jet of order `K` along `R` directions of a value of type `T` (a ranked
    tensor of floating-point elements, static or dynamic shape). It stands for
    `K + 1` coefficient tensors:

    | coefficient | standard jet      | collapsed jet     |
    |-------------|-------------------|-------------------|
    | `0`         | `T`               | `T`               |
    | `1 .. K-1`  | `tensor<R x T>`   | `tensor<R x T>`   |
    | `K`         | `tensor<R x T>`   | `T` (summed)      |

    where `tensor<R x T>` is `T` with a leading direction dimension of size
    `R`. In a collapsed jet the top coefficient holds `Σ_r w_r f_K^(r)`.

    Syntax:

    ```mlir
    !taylor.jet<2, 50, tensor<8x50xf64>>             // standard
    !taylor.jet<2, 50, tensor<8x50xf64>, collapsed>  // collapsed
    !taylor.jet<4, 3, tensor<?x5xf32>>               // dynamic batch
    ```
  }];
  let parameters = (ins
    "unsigned":$order,
    "unsigned":$directions,
    "::mlir::RankedTensorType":$valueType,
    "bool":$collapsed
  );
  let builders = [
    TypeBuilderWithInferredContext<(ins "unsigned":$order,
        "unsigned":$directions, "::mlir::RankedTensorType":$valueType,
        CArg<"bool", "false">:$collapsed), [{
      return $_get(valueType.getContext(), order, directions, valueType,
                   collapsed);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let skipDefaultBuilders = 0;
  let extraClassDeclaration = [{
    /// Number of coefficient tensors, `order + 1`.
    unsigned getNumCoefficients() const { return getOrder() + 1; }
    /// Element type of the coefficients.
    ::mlir::Type getElementType() const {
      return getValueType().getElementType();
    }
    /// Type of the tensor with a leading direction dimension of size `R`.
    ::mlir::RankedTensorType getDirectionalType() const;
    /// Type of coefficient `k` (0 <= k <= order), see the type description.
    ::mlir::RankedTensorType getCoefficientType(unsigned k) const;
    /// Whether coefficient `k` carries the direction dimension.
    bool hasDirectionDim(unsigned k) const {
      return k != 0 && !(getCollapsed() && k == getOrder());
    }
    /// The same jet with its top coefficient summed over directions.
    JetType getCollapsedType() const;
    /// The same jet with its top coefficient per direction.
    JetType getStandardType() const;
  }];
}

#endif // TAYLOR_IR_TAYLORTYPES_TD
