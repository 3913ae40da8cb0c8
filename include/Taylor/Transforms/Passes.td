//===- Passes.td - Taylor dialect passes --------------------*- tablegen -*-===//

#ifndef TAYLOR_TRANSFORMS_PASSES_TD
#define TAYLOR_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def TaylorLower : Pass<"taylor-lower", "func::FuncOp"> {
  let summary = "Lower taylor ops on function-local jets to tensor and linalg ops";
  let description = [{
    Replaces every jet inside a function by its coefficient tensors:

    - `taylor.coeff` of a `taylor.make_jet` forwards the coefficient;
    - `taylor.sum` becomes a `linalg.generic` that reduces the top
      coefficient over the leading direction dimension, `Σ_r w_r x_K[r]`,
      into a zero-filled tensor (weights: ones, the `static_weights` as an
      `arith.constant`, or the runtime `weights` operand);
    - `taylor.make_jet` ops left without uses are erased.

    Jets must be built by `taylor.make_jet` in the function that uses them.
    A jet that arrives any other way (a block argument, a function result, an
    op of another dialect) is reported as an error naming the op, and the pass
    fails.

    Example:

    ```mlir
    %j = taylor.make_jet %x0, %x1, %x2 : tensor<4xf64>, tensor<3x4xf64>,
        tensor<3x4xf64> -> !taylor.jet<2, 3, tensor<4xf64>>
    %s = taylor.sum %j : !taylor.jet<2, 3, tensor<4xf64>>
        -> !taylor.jet<2, 3, tensor<4xf64>, collapsed>
    %top = taylor.coeff %s[2] : !taylor.jet<2, 3, tensor<4xf64>, collapsed>
        -> tensor<4xf64>
    ```

    becomes a `linalg.fill` of zeros and one `linalg.generic` with iterator
    types `["reduction", "parallel"]` adding `%x2[r, i]` into `%top[i]`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numSumsLowered", "num-sums-lowered",
              "Number of taylor.sum ops lowered to reductions">,
  ];
}

#endif // TAYLOR_TRANSFORMS_PASSES_TD
