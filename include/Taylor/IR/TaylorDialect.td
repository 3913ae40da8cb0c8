//===- TaylorDialect.td - Taylor dialect definition --------*- tablegen -*-===//
//
// The `taylor` dialect: values that are jets (truncated Taylor series pushed
// along one or more input directions).
//
//===----------------------------------------------------------------------===//

#ifndef TAYLOR_IR_TAYLORDIALECT_TD
#define TAYLOR_IR_TAYLORDIALECT_TD

include "mlir/IR/OpBase.td"

def Taylor_Dialect : Dialect {
  let name = "taylor";
  let summary = "Jets and Taylor-mode automatic differentiation";
  let description = [{
    The `taylor` dialect represents *jets*: the first `K + 1` Taylor
    coefficients of a function evaluated along a curve
    `x(t) = Σ_{k=0..K} x_k t^k / k!`, for `R` input directions at once.
    Coefficient 0 is the primal value; coefficients `1 .. K` carry a leading
    direction dimension of size `R`.

    A jet may be *collapsed*: its top coefficient `K` has been summed over the
    directions with weights, `Σ_r w_r f_K^(r)`, and no longer carries the
    direction dimension. Collapsed Taylor mode propagates this single summed
    tensor instead of `R` of them (Dangel, Siebert, Zeinhofer, Walther 2025),
    which is how Laplacians, weighted Laplacians and biharmonics are computed
    cheaply. Standard and collapsed jets are both first-class values of the
    one `!taylor.jet` type.
  }];
  let cppNamespace = "::mlir::taylor";
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the types of the dialect (TaylorTypes.cpp).
    void registerTypes();
  }];
}

/// Base class of every op of the dialect.
class Taylor_Op<string mnemonic, list<Trait> traits = []>
    : Op<Taylor_Dialect, mnemonic, traits>;

#endif // TAYLOR_IR_TAYLORDIALECT_TD
