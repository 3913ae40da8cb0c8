//===- Passes.td - Taylor dialect passes --------------------*- tablegen -*-===//

#ifndef TAYLOR_TRANSFORMS_PASSES_TD
#define TAYLOR_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def TaylorLower : Pass<"taylor-lower", "func::FuncOp"> {
  let summary = "Lower jets to their coefficient tensors, through calls, scf and branches";
  let description = [{
    Replaces every jet by its coefficient tensors, in two phases.

    1. In program order, with the rules:
       - `taylor.propagate` is expanded with the Taylor rule of the op it
         wraps (`TaylorRuleOpInterface`): the wrapped op computes coefficient
         0, the rule emits coefficients `1 .. K`; coefficients that are known
         to be zero (zero constants or fills of a `taylor.make_jet` operand)
         are never used in arithmetic;
       - `taylor.sum` of a `taylor.make_jet` becomes a `linalg.generic` that
         reduces the top coefficient over the leading direction dimension,
         `Σ_r w_r x_K[r]`, into a zero-filled tensor (weights: ones, the
         `static_weights` as an `arith.constant`, or the runtime `weights`
         operand).
       A jet operand that no `taylor.make_jet` built (a block argument, the
       result of a call or of an scf op) is read with `taylor.coeff`.
    2. A 1:N dialect conversion (`!taylor.jet<K, R, T>` -> its `K + 1`
       coefficient types) removes the jets: `taylor.make_jet` is replaced by
       its operands, `taylor.coeff` by the coefficient it reads, a remaining
       `taylor.sum` by the same reduction, and the upstream structural
       conversions retype function signatures (public, private and
       declarations), `func.call`, `func.return`, `scf.for` / `scf.if` /
       `scf.while` (iter_args, results, yields) and `cf.br` / `cf.cond_br` /
       `cf.switch` with their destination blocks. The program is then folded
       (dead coefficients and unused block arguments disappear).

    Each function is converted on its own: its signature and the calls it
    makes change the same way, so callers and callees agree once the pass has
    run on every function of the module.

    An op that holds a jet without a lowering for it (e.g. `arith.select` of
    jets, `func.call_indirect`, or a jet block argument of an
    `scf.execute_region`) is reported, naming the op, before anything is
    rewritten, and the pass fails; so does a `taylor.propagate` whose op has
    no rule.

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
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numSumsLowered", "num-sums-lowered",
              "Number of taylor.sum ops lowered to reductions">,
    Statistic<"numPropagatesLowered", "num-propagates-lowered",
              "Number of taylor.propagate ops expanded by their rules">,
  ];
}

def TaylorLowerMatrixOps : Pass<"taylor-lower-matrix-ops", "func::FuncOp"> {
  let summary = "Expand the linear algebra ops into loops on tensors";
  let description = [{
    Replaces `taylor.matrix_inverse`, `taylor.solve`, `taylor.slogdet` and
    `taylor.cholesky` by `scf.for` loop nests on tensors (`tensor.extract` / `tensor.insert`),
    one matrix of the batch at a time, which one-shot bufferization turns
    into in-place loops on buffers:

    - `taylor.matrix_inverse`, `taylor.solve`: Gauss-Jordan elimination
      with partial pivoting (row swaps), on the matrix and an identity (the
      right-hand side) beside it; a zero pivot (a singular matrix) gives
      non-finite entries;
    - `taylor.slogdet`: LU factorization with partial pivoting; the sign is
      the product of the pivots' signs and of `-1` per row swap, the log of
      the absolute determinant the sum of `log |pivot|`; a zero pivot gives
      `sign = 0`, `logabsdet = -inf` (and the elimination skips it);
    - `taylor.cholesky`: the Cholesky–Banachiewicz recurrence on the lower
      triangle; a non-positive pivot gives NaN (square root of a negative
      number) from that column on.

    The matrices are small in the intended uses (Slater determinants and
    covariance factors, `n` up to tens): per-matrix loops in generated code
    beat a LAPACK call per matrix, and need no runtime library.

    Example:

    ```mlir
    %inv = taylor.matrix_inverse %a : tensor<8x4x4xf64>
    ```

    becomes an `scf.for` over the 8 matrices whose body extracts one
    `tensor<4x4xf64>`, eliminates, and inserts the inverse into the result.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numOpsLowered", "num-ops-lowered",
              "Number of linear algebra ops expanded into loops">,
  ];
}

def TaylorCollapse : Pass<"taylor-collapse", "func::FuncOp"> {
  let summary = "Collapsed Taylor mode: push sums over directions of top coefficients toward the inputs";
  let description = [{
    In every Taylor rule the top coefficient enters linearly:
    `f_K = J(x_0) · x_K + N_K(x_0, ..., x_{K-1})`. Hence a weighted sum over
    directions of a result's top coefficient, `taylor.sum`, can be moved
    before the op that produced it:

        sum(propagate(a, b, ...)) -> propagate(sum(a), sum(b), ...)

    where the new `taylor.propagate` takes and returns collapsed jets (their
    top coefficient is summed, without the direction dimension) and carries
    the weights; its rule computes `J · (Σ_r w_r x_K^(r)) + Σ_r w_r N_K^(r)`.
    The pattern is generic: it applies to every op whose rule
    (`TaylorRuleOpInterface`) declares a linear top coefficient
    (`isTopCoefficientLinear`), and it is repeated until the sums reach the
    seeds, where `sum(make_jet(x_0, ..., x_{K-1}, 0))` becomes a collapsed
    `make_jet` with a zero top coefficient (folded away when lowered).

    Collapsed Taylor mode carries `1 + (K-1)·R + 1` coefficient tensors per
    jet instead of `1 + K·R`.

    - A jet summed by several `taylor.sum` ops with the same weights is
      collapsed once. A jet that is also used unsummed keeps its standard
      producer, next to the collapsed copy.
    - Lower coefficients of a collapsed result (`taylor.coeff` below the
      top) are read from the collapsed copy: they are the same in both forms.
    - The rewrite stops (leaving the sum in place) at ops without a Taylor
      rule, at rules without a linear top coefficient, at jets that are not
      produced by `taylor.propagate` or `taylor.make_jet`, and when runtime
      weights are defined after the producer.

    Statistics report the jets carried between ops, the coefficient tensors
    per jet and in total, before and after; with `cost-analysis`, also an
    estimate of the floating-point operations of the lowered code before and
    after (computed by lowering copies of the function), emitted as a remark.

    Example: `taylor-opt --taylor-jet="order=2 directions=3 sum-top"
    --taylor-collapse --taylor-lower`.
  }];
  let options = [
    Option<"costAnalysis", "cost-analysis", "bool", /*default=*/"false",
           "Estimate the FLOPs of the lowered code before and after "
           "collapsing, and report the costs as a remark">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numSumsPushed", "num-sums-pushed",
              "Number of taylor.sum ops moved before a taylor.propagate">,
    Statistic<"numSeedsCollapsed", "num-seeds-collapsed",
              "Number of taylor.sum ops folded into a seed">,
    Statistic<"jetsBefore", "jets-before",
              "Jets carried between ops, before collapsing">,
    Statistic<"standardJetsAfter", "standard-jets-after",
              "Jets still standard (not collapsed) after collapsing">,
    Statistic<"tensorsPerJetBefore", "coefficient-tensors-per-jet-before",
              "Most coefficient tensors of one jet, before collapsing">,
    Statistic<"tensorsPerJetAfter", "coefficient-tensors-per-jet-after",
              "Most coefficient tensors of one jet, after collapsing">,
    Statistic<"tensorsBefore", "coefficient-tensors-before",
              "Coefficient tensors of all jets, before collapsing">,
    Statistic<"tensorsAfter", "coefficient-tensors-after",
              "Coefficient tensors of all jets, after collapsing">,
    Statistic<"flopsBefore", "flops-before",
              "Estimated FLOPs of the lowered code before collapsing "
              "(cost-analysis)">,
    Statistic<"flopsAfter", "flops-after",
              "Estimated FLOPs of the lowered code after collapsing "
              "(cost-analysis)">,
  ];
}

def TaylorEarlyDealloc : Pass<"taylor-early-dealloc", "func::FuncOp"> {
  let summary = "Free each buffer right after its last use";
  let description = [{
    MLIR's ownership-based buffer deallocation places `memref.dealloc` at the
    end of the block that allocates the buffer. In straight-line code (the
    Taylor-mode programs), every intermediate buffer then lives until the
    function returns, and the peak memory is the sum of all of them. This
    pass moves a `memref.dealloc` of a `memref.alloc` of the same block up to
    right after the last op that uses the buffer or a view of it
    (`ViewLikeOpInterface`); uses in nested regions count as their ancestor in
    the block. Buffers that may escape (used by the block's terminator or
    outside the block) are left alone.

    Run it after the buffer deallocation pipeline.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
  let statistics = [
    Statistic<"numDeallocsMoved", "num-deallocs-moved",
              "Number of memref.dealloc ops moved up to the buffer's last use">,
  ];
}

def TaylorContractionsToGemm
    : Pass<"taylor-contractions-to-gemm", "func::FuncOp"> {
  let summary = "Bring contractions to 2-D matrix-product form (linalg.matmul)";
  let description = [{
    A `linalg.generic` on tensors that upstream's contraction analysis
    recognizes (`linalg::isaContractionOpInterface`: body `out + a * b`,
    projected-permutation maps; `linalg::inferContractionDims`: loops split
    into rows M, columns N and reductions K, and no batch loop), on f32 or
    f64 throughout, with each group contiguous and in one order in every
    operand, is one matrix product of its operands collapsed to 2-D. It
    becomes `tensor.collapse_shape`s, a `linalg.matmul` (with
    `indexing_maps` reading `a` as `[k, m]` or `b` as `[n, k]` when their
    groups are swapped), and a `tensor.expand_shape`. Inputs the body does
    not read (the placeholder operands of the Taylor rules) are dropped
    first. `taylor-gemm-to-blas` turns the `linalg.matmul`s into BLAS calls
    after bufferization; `taylor-tile-contractions` leaves them alone.

    A multi-result reduction generic whose results are computed
    independently (disjoint body ops, each reading only its own output) is
    first split into one generic per result: standard Taylor mode computes
    `f_1 .. f_K` of a linear contraction in one loop nest, and each is a
    matrix product of its own.

    A one-result reduction generic that yields `out + (t_1 + ... + t_n)`,
    each `t_i` a product of two inputs, becomes a chain of generics each
    adding one product (then each is a matrix product): the adjoint of the
    weights shared by the results of a multi-result contraction
    (`taylor-reverse`) sums one product per result.

    A `linalg.matmul` whose `a` or `b` is a 2-D `linalg.transpose`
    (permutation `[1, 0]`; torch-mlir transposes `nn.Linear`'s weight before
    every product) reads the transpose's source through the transposed map
    instead: BLAS takes the transpose as a flag and the copy disappears once
    nothing else reads it.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numGemms", "num-gemms", "Number of contractions rewritten">,
  ];
}

def TaylorGemmToBlas : Pass<"taylor-gemm-to-blas", "ModuleOp"> {
  let summary = "Call the runtime's BLAS GEMM for linalg.matmul on buffers";
  let description = [{
    After bufferization, a `linalg.matmul` on 2-D memrefs of f32 or f64
    (operands possibly transposed through `indexing_maps`, as
    `taylor-contractions-to-gemm` emits them) whose operands each have a
    unit stride becomes a call of the runtime's `taylor_rt_gemm_f64` (f64)
    or `taylor_rt_gemm_f32` (f32), declared as private functions with
    `llvm.emit_c_interface`:

    ```mlir
    func.func private @taylor_rt_gemm_f64(
        memref<?x?xf64, strided<[?, ?], offset: ?>>,  // A[M, K]
        memref<?x?xf64, strided<[?, ?], offset: ?>>,  // B[K, N]
        memref<?x?xf64, strided<[?, ?], offset: ?>>,  // C[M, N]
        f64)                                          // beta
        attributes {llvm.emit_c_interface}
    ```

    with `C = A · B + beta · C`. The operands are passed with their logical
    shapes (a transposed operand as a `memref.transpose` view), cast to the
    fully dynamic strided type; the callee (lib/Runtime, implemented as
    `_mlir_ciface_taylor_rt_gemm_*`) reads the strides at run time and
    handles row- and column-major operands. beta = 1 (the product
    accumulates into `c`, like the matmul), unless `c`'s whole allocation
    was filled with zeros and nothing touched it since: then the fill is
    dropped and the call overwrites `c` (beta = 0), one pass less over the
    result. A product with an operand without a unit stride stays as loops
    (a remark says so).

    The buffers are passed as memrefs, so the call is an ordinary use of
    each of them for ownership-based deallocation and `taylor-early-dealloc`:
    the pass is correct before or after the deallocation pipeline.
    `taylor-to-llvm` runs it after, so that the zero-fill search sees the
    final allocations.

    With `library=cublas` (the CUDA pipelines), the callees are
    `taylor_rt_cublas_gemm_f64` / `taylor_rt_cublas_gemm_f32` instead, with
    the same signature, meaning and C interface, on buffers in device
    memory: the runtime's cuBLAS shim, called from the host between
    kernels.
  }];
  let options = [
    Option<"library", "library", "::mlir::taylor::GemmLibrary",
           /*default=*/"::mlir::taylor::GemmLibrary::CPU",
           "The GEMM the products call", [{::llvm::cl::values(
             clEnumValN(::mlir::taylor::GemmLibrary::CPU, "cpu",
                        "taylor_rt_gemm_* (BLAS on the host)"),
             clEnumValN(::mlir::taylor::GemmLibrary::CUBLAS, "cublas",
                        "taylor_rt_cublas_gemm_* (cuBLAS on device "
                        "buffers)"))}]>,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
  ];
  let statistics = [
    Statistic<"numCalls", "num-calls", "Number of GEMM calls generated">,
    Statistic<"numZeroFillsDropped", "num-zero-fills-dropped",
              "Number of zero fills replaced by beta = 0">,
  ];
}

def TaylorFoldUnitDirections
    : Pass<"taylor-fold-unit-directions", "func::FuncOp"> {
  let summary = "Fold contractions with unit directions into slices";
  let description = [{
    Identity seeds (`taylor-jet{seed=identity}`: the unit directions of an
    exact Laplacian or biharmonic) are Kronecker deltas
    `x_1[r, b, d] = (r == d) ? 1 : 0`, built by an input-less
    `linalg.generic`. Multiplying them with a weight matrix is a dense
    D x D product per datum whose result is a slice of the weights. For a
    `linalg.generic` whose body is `out + delta * g` and whose delta operand
    equates a reduction loop `q` with another loop `p`, this pass drops loop
    `q` (every other operand reads `q` as `p`) and the delta operand; the
    body becomes `out + g`:

    ```
    Σ_d δ(r, d) W[d, h]   →   W[r, h]
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
  let statistics = [
    Statistic<"numFolded", "num-folded",
              "Number of contractions with a Kronecker delta folded">,
  ];
}

def TaylorHoistDirectionInvariants
    : Pass<"taylor-hoist-direction-invariants", "func::FuncOp"> {
  let summary = "Compute what does not depend on the direction loop once";
  let description = [{
    The generics of the Taylor rules loop over the R directions outermost,
    and their bodies recompute the primal scalar function and its
    derivatives (`tanh(x_0)`, `1 - y²`, ...) for every direction. For a
    `linalg.generic` whose inner loops are all parallel, this pass moves the
    body ops that do not depend on the outermost loop (`d0`) into a new
    generic over the inner loops, which materializes the values the rest of
    the body needs (one tensor of the inner iteration space per value, float
    values only); the original generic reads them. Applied when something
    costly (a `math` op, a division) is invariant; constants stay.

    The outer loop may be a reduction (the collapsed top coefficient sums
    over the directions).
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numHoisted", "num-hoisted",
              "Number of generics whose invariant computations were hoisted">,
  ];
}

def TaylorTileContractions
    : Pass<"taylor-tile-contractions", "func::FuncOp"> {
  let summary = "Block the rows of contractions for cache reuse";
  let description = [{
    A contraction lowered to loops as it stands, `for (rows) for (n) for (k)
    out[row, n] += a[row, k] * b[k, n]`, streams the whole of `b` once per row
    with a stride of `n`, and runs at the speed of memory; the coefficient
    contractions of Taylor mode have R·B rows. For every linalg op on
    tensors whose innermost loop is a reduction `k` and in which upstream's
    contraction analysis (`linalg::inferContractionDims` on two inputs and
    the first output) finds `k` among the reductions and the last parallel
    loop `n` among the columns, this pass tiles the parallel loops before `n` (the rows) into tiles
    of about `row-tile` rows (taken from the innermost row loops first, in
    divisors of static extents; `scf.for` over tensor slices) and reorders
    the loops of each tile to `k, rows in tile, n`. Each row of `b` is
    then read contiguously and reused across the tile from cache, and the
    innermost loop walks contiguous rows of `out` and `b`.

    `linalg.matmul`s on f32 or f64 are left alone unless
    `skip-matmuls=false`: in the `taylor-to-llvm` pipeline with BLAS they
    are the products that `taylor-contractions-to-gemm` prepared for
    `taylor-gemm-to-blas`.

    A first, simple code-generation step, not tuned: no vectorization or
    register blocking beyond what LLVM does with the inner loop.
  }];
  let options = [
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"8",
           "Rows per tile">,
    Option<"skipMatmuls", "skip-matmuls", "bool", /*default=*/"true",
           "Leave linalg.matmul on f32/f64 alone (taylor-gemm-to-blas calls "
           "BLAS for them); false tiles them too">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numTiled", "num-tiled", "Number of contractions tiled">,
  ];
}

def TaylorUnshareFills : Pass<"taylor-unshare-fills", "func::FuncOp"> {
  let summary = "Give every use of a tensor.empty and every destination use of a linalg.fill its own";
  let description = [{
    CSE merges identical `tensor.empty` ops: one empty tensor used by several
    ops is one allocation, and bufferization copies it for all but one of
    them. This pass gives every use of a `tensor.empty` its own (they cost
    nothing).

    CSE also merges identical `linalg.fill`s of `tensor.empty` (the zero initial
    values of reductions). A fill that several destination-style ops use as
    their init forces one-shot bufferization to copy it for all but one of
    them and to keep it alive until the last use: a buffer and a copy per
    extra use. This pass clones the fill (and its `tensor.empty`) right
    before every destination use after the first, so that each bufferizes in
    place. Uses as an input are left alone.

    Run it right before bufferization.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numFillsCloned", "num-fills-cloned",
              "Number of fills cloned for a destination use">,
    Statistic<"numEmptiesCloned", "num-empties-cloned",
              "Number of empty tensors cloned for a use">,
  ];
}

def TaylorFuseSubByteTensors
    : Pass<"taylor-fuse-sub-byte-tensors", "func::FuncOp"> {
  let summary = "Fuse away tensors of sub-byte elements (i1 masks) before bufferization";
  let description = [{
    Elementwise `linalg.generic` ops that produce tensors of `i1` (masks from
    comparisons, as PyTorch's `where`, `relu` and `softplus` produce) are
    fused into their elementwise consumers, so that no sub-byte tensor is
    stored to memory: the LLVM lowering of MLIR 22 cannot store sub-byte
    memref elements. A sub-byte tensor that fusion cannot remove (a
    reduction of a mask, such as torch's `all` in attention's safe softmax,
    read by several ops) is stored as `i8`: its producing `linalg.generic`
    or `linalg.fill` computes `arith.extui` of its values, and an elementwise
    `arith.trunci` generic, fused into each user in a second fusion round,
    gives the users back their `i1` values. A sub-byte tensor that still
    remains (one returned by the function, say) is reported as an error
    naming the op that produces it.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def TaylorJet : Pass<"taylor-jet", "ModuleOp"> {
  let summary = "Taylor-mode transform: push K-jets along R directions through a function";
  let description = [{
    Creates, next to function `@f` (linalg-on-tensors), a function
    `@f_jet` that pushes jets of order `order` along `directions` input
    directions through it. Argument `argument` of `@f` is the differentiated
    input `x`; the other arguments (weights, ...) are passive. The new
    function takes

    - `x_0` (in place of `x`), followed by the higher input coefficients
      `x_k : tensor<R x T>` for the orders listed in `input-coefficients`
      (default: all of `1 .. K`); the coefficients not listed are zero and
      never materialized;
    - the passive arguments of `@f`, unchanged;

    and returns, for each result of `@f` that is a floating-point tensor,
    `f_0` followed by `f_1 .. f_K : tensor<R x T>` (other results are
    returned as they are). With `x_1 = v` and `x_k = 0` for `k >= 2`, `f_K`
    is the K-th directional derivative of `@f` along `v`.

    With `sum-top`, the top coefficient is returned as the weighted sum over
    directions `Σ_r w_r f_K^(r) : T` (a `taylor.sum` of the output jet): the
    form every differential operator takes (the Laplacian is the unweighted
    sum of second derivatives along the unit directions). The weights are
    ones, the compile-time `weights`, or, with `runtime-weights`, an extra
    argument `w : tensor<R x elt>` after the input coefficients.

    Every op that depends on `x` is wrapped in a `taylor.propagate` op that
    carries jets (`!taylor.jet<K, R, T>`); `taylor-lower` then expands each
    with the Taylor rule of the wrapped op (`TaylorRuleOpInterface`, attached
    to upstream ops as external models). Ops whose results are not
    floating-point tensors (shapes, masks) use the primal value only. An op
    without a rule is reported ("no Taylor-mode rule for 'linalg.softmax'")
    and the pass fails.

    Jets also cross structured control flow and calls:

    - `scf.for`: an iter_arg becomes a jet when its initial value or the
      value the body yields for it depends on `x` (found by iterating to a
      fixpoint); the body reads coefficient 0 of a jet iter_arg as its primal
      value, and a passive value yielded for a jet iter_arg gets zero higher
      coefficients;
    - `scf.if`: a result that depends on `x` in either branch is a jet;
    - `func.call` with jet operands calls `@g_jet_<i>...`, a private jet
      version of the callee `@g` whose arguments `<i>...` are jets and whose
      floating-point tensor results are all jets; it is created once per
      callee and set of active arguments, and the callees it calls get their
      own jet versions. Callees without a body and recursive calls are
      reported, naming the call;
    - branches (`cf.br`, `cf.cond_br`, `cf.switch`) in functions with several
      blocks: a block argument becomes a jet when a branch passes it a value
      that depends on `x` (iterated to a fixpoint, so loops made of branches
      work), and every branch to it passes a jet. Unreachable blocks and
      other terminators are reported.

    `scf.while` and other region ops that use `x` are reported.

    `seed` says how the input coefficients are given, for an input `x` whose
    dimension 0 is the batch (`tensor<B x S>`):

    - `input` (default): per datum, `x_k : tensor<R x B x S>`;
    - `broadcast`: one set of directions for the whole batch,
      `x_k : tensor<R x S>`, broadcast along the batch inside the function
      (what a differential operator needs: the same directions at each datum);
    - `identity`: the unit directions of `S` (R = the size of `S`, which must
      be static), generated inside the function and taking no argument; only
      `x_1` may be an input coefficient. Exact Laplacians and biharmonics use
      them, and the lowering folds products with them into slices of the
      other operand (`taylor-fold-unit-directions`).

    `result-coefficients` lists the orders `k` of the coefficients returned
    (default: all of `0 .. K`); computations only the others need are dead.

    Example: `taylor-opt --taylor-jet="order=2 directions=3" --taylor-lower`.
  }];
  let options = [
    Option<"order", "order", "unsigned", /*default=*/"2",
           "Taylor order K (at least 1)">,
    Option<"directions", "directions", "unsigned", /*default=*/"1",
           "Number of input directions R (at least 1)">,
    Option<"functionName", "function", "std::string", /*default=*/"\"\"",
           "Function to transform (default: the module's only function)">,
    Option<"argument", "argument", "unsigned", /*default=*/"0",
           "Index of the differentiated argument; the others are passive">,
    ListOption<"inputCoefficients", "input-coefficients", "unsigned",
               "Orders k of the input coefficients x_k that are arguments "
               "(default: 1 .. K); the others are zero">,
    Option<"sumTop", "sum-top", "bool", /*default=*/"false",
           "Return the weighted sum over directions of the top coefficient">,
    ListOption<"weights", "weights", "double",
               "Compile-time weights of the sum (default: ones)">,
    Option<"runtimeWeights", "runtime-weights", "bool", /*default=*/"false",
           "Take the weights of the sum as an argument tensor<R x elt>">,
    Option<"jetFunctionName", "jet-function", "std::string",
           /*default=*/"\"\"",
           "Name of the new function (default: <function>_jet)">,
    Option<"seed", "seed", "std::string", /*default=*/"\"input\"",
           "How input coefficients are given: 'input' (per datum, "
           "tensor<R x B x S>), 'broadcast' (tensor<R x S>, the same for "
           "every datum) or 'identity' (unit directions, no argument)">,
    ListOption<"resultCoefficients", "result-coefficients", "unsigned",
               "Orders k of the returned coefficients (default: 0 .. K)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::taylor::TaylorDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numPropagated", "num-propagated",
              "Number of ops wrapped in taylor.propagate">,
  ];
}

def TaylorReverse : Pass<"taylor-reverse", "ModuleOp"> {
  let summary = "Reverse-mode AD: a function's vector-Jacobian products";
  let description = [{
    Adds to the module a function that computes, besides the results of a
    linalg-on-tensors function `@f`, the vector-Jacobian products of chosen
    results with respect to chosen arguments:

        @f(a_0, ..., a_{n-1}) -> (r_0, ..., r_{m-1})
        @f_vjp(a_0, ..., a_{n-1}, r̄_i, ...) -> (r_0, ..., r_{m-1}, ā_j, ...)

    with one cotangent argument `r̄_i` per differentiated result (`results`,
    default: every floating-point tensor result) and one gradient result
    `ā_j = Σ_i r̄_i · ∂r_i/∂a_j` per differentiated argument (`arguments`,
    default: every floating-point tensor argument), in the order given.

    The new function first computes `@f`'s body unchanged, then walks it
    backwards and asks every op on a path from a differentiated argument to
    a differentiated result for its adjoint (`AdjointRuleOpInterface`,
    attached to upstream ops as external models): one `linalg.generic` per
    active operand of a structured op, derived from the op's scalar body,
    and the transposes of the tensor ops. Adjoints of a value used several
    times are added. An op without a rule is reported with its location and
    the pass fails.

    What is stored and what is recomputed: the adjoints read the primal
    *tensors* (every op's operands stay alive until their adjoint has used
    them; bufferization and `taylor-early-dealloc` free each buffer after its
    last use), and recompute every *scalar* of a structured op's body
    (`tanh(x)` is computed again from the stored `x`, not stored).

    The input and output are linalg on tensors, like the programs
    torch-mlir emits and `taylor-lower` produces: the transform composes
    with `taylor-jet` in either order (gradients of Taylor-mode operators;
    Hessian-vector products as `taylor-jet{order=1}` over `taylor-reverse`)
    and with itself.

    Example: `taylor-opt --taylor-reverse="arguments=0"` on

    ```mlir
    func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
      %e = tensor.empty() : tensor<4xf64>
      %y = linalg.generic {indexing_maps = [#id, #id],
             iterator_types = ["parallel"]} ins(%x : tensor<4xf64>)
             outs(%e : tensor<4xf64>) {
      ^bb0(%a: f64, %o: f64):
        %t = math.tanh %a : f64
        linalg.yield %t : f64
      } -> tensor<4xf64>
      return %y : tensor<4xf64>
    }
    ```

    adds `@f_vjp(%x, %ybar) -> (y, xbar)` whose adjoint generic recomputes
    `tanh(x)` and yields `acc + ybar · (1 - tanh(x)²)`.
  }];
  let options = [
    Option<"functionName", "function", "std::string", /*default=*/"\"\"",
           "Function to differentiate (default: the module's only function)">,
    Option<"vjpFunctionName", "vjp-function", "std::string",
           /*default=*/"\"\"",
           "Name of the new function (default: <function>_vjp)">,
    ListOption<"arguments", "arguments", "unsigned",
               "Indices of the differentiated arguments (default: every "
               "floating-point tensor argument)">,
    ListOption<"results", "results", "unsigned",
               "Indices of the results that receive cotangents (default: "
               "every floating-point tensor result)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numAdjointOps", "num-adjoint-ops",
              "Number of ops whose adjoint rule was applied">,
  ];
}

def TaylorSplitAdjoint : Pass<"taylor-split-adjoint", "ModuleOp"> {
  let summary = "Split a vjp function into a primal half with a tape and an adjoint half";
  let description = [{
    For a function `@f_vjp(args..., cotangents...) -> (primal results...,
    gradients...)` (as `taylor-reverse` builds them), adds

        @f_vjp_primal(args...) -> (primal results..., tape...)
        @f_vjp_adjoint(args..., tape..., cotangents...) -> (gradients...)

    The primal half holds the ops that do not depend on a cotangent (the
    last `cotangents` arguments); the adjoint half the others. The tape is
    every value of the primal half that the adjoint half reads or returns,
    except the arguments (passed to both) and values recomputed in the
    adjoint half from what it has: constants, empty tensors, constant
    fills, `i1` masks (which no buffer may hold) and index and integer
    scalars (sizes of dynamic dimensions). Calling the primal half, keeping
    its tape, and calling the adjoint half later gives the same gradients as
    the vjp function without computing the forward twice, at the price of
    the tape's memory between the calls.

    Example: `taylor-opt --taylor-reverse="function=f"
    --taylor-split-adjoint="function=f_vjp cotangents=1 primal-results=1"`.
  }];
  let options = [
    Option<"functionName", "function", "std::string", /*default=*/"\"\"",
           "Function to split (default: the module's only function)">,
    Option<"cotangents", "cotangents", "unsigned", /*default=*/"1",
           "Number of trailing arguments that are cotangents">,
    Option<"primalResults", "primal-results", "unsigned", /*default=*/"1",
           "Number of leading results that the primal half returns">,
    Option<"primalFunctionName", "primal-function", "std::string",
           /*default=*/"\"\"",
           "Name of the primal half (default: <function>_primal)">,
    Option<"adjointFunctionName", "adjoint-function", "std::string",
           /*default=*/"\"\"",
           "Name of the adjoint half (default: <function>_adjoint)">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let statistics = [
    Statistic<"numTaped", "num-taped",
              "Number of values the primal half passes to the adjoint half">,
  ];
}

def TaylorGpuLaunchToLoops : Pass<"taylor-gpu-launch-to-loops", "ModuleOp"> {
  let summary = "Run the mapped GPU program on the CPU: gpu.launch as scf.parallel loops";
  let description = [{
    Turns the "mapped" form of the CUDA pipelines (bufferized host functions
    with `gpu.launch` ops, host-side synchronous `gpu.alloc` / `gpu.dealloc`
    / `gpu.memcpy` / `gpu.memset` / `gpu.wait`, and calls of the runtime's
    `taylor_rt_cublas_gemm_*`) into a CPU program that runs the same tiling
    and thread mapping, so that the numerics of the GPU path can be checked
    without a GPU:

    - every `gpu.launch` becomes an `scf.parallel` over the grid (blocks x,
      y, z) holding an `scf.parallel` over the block (threads x, y, z), with
      the kernel body inlined in the inner loop (in an `scf.execute_region`
      if it has several blocks): the region's block and thread ids become
      the loop indices, its grid and block sizes the launch's operands, and
      `gpu.block_id` / `gpu.thread_id` / `gpu.block_dim` / `gpu.grid_dim` /
      `gpu.global_id` in the body the same values;
    - `gpu.alloc` becomes `memref.alloc`, `gpu.dealloc` `memref.dealloc`,
      `gpu.memcpy` `memref.copy`, `gpu.memset` `linalg.fill`, and a
      synchronous `gpu.wait` is erased;
    - a call of `taylor_rt_cublas_gemm_f64` / `_f32` calls the CPU BLAS shim
      `taylor_rt_gemm_f64` / `_f32` instead (same signature, declared like
      `taylor-gemm-to-blas` does), and the cuBLAS declaration goes once
      unused.

    Every thread of a launch then runs exactly once, in some order: this is
    the GPU program's meaning when threads only use their ids and share no
    memory. What the loops cannot emulate faithfully is refused with an
    error naming the op, and nothing is rewritten: `gpu.barrier`, shared
    (workgroup) memory (workgroup attributions, memrefs in address space 3,
    dynamic shared memory), private attributions, thread-block clusters,
    async tokens and dependencies, subgroup and cross-thread ops
    (`gpu.shuffle`, `gpu.subgroup_reduce`, `gpu.all_reduce`, lane and
    subgroup ids, MMA), an already outlined `gpu.launch_func`, an id op
    outside a launch, and any other `gpu` op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
  let statistics = [
    Statistic<"numLaunches", "num-launches",
              "Number of gpu.launch ops turned into loops">,
    Statistic<"numHostOps", "num-host-ops",
              "Number of gpu.alloc/dealloc/memcpy/memset/wait ops replaced">,
    Statistic<"numGemmCalls", "num-gemm-calls",
              "Number of cuBLAS GEMM calls redirected to the CPU BLAS shim">,
  ];
}

def TaylorGpuSplitReductions
    : Pass<"taylor-gpu-split-reductions", "func::FuncOp"> {
  let summary = "Split reductions with little parallel work into a partial and a final reduction";
  let description = [{
    On a GPU every point of a reduction's parallel iteration space is one
    thread, which reduces serially. A reduction over the directions or the
    data with few outputs (a sum over all of them, say) then runs on a
    handful of threads. This pass splits such a reduction with upstream's
    `linalg::splitReduction` (reduction dimension `k` of size `R` read as
    `k = i * (R / r) + j`): a partial reduction with an extra, outermost
    parallel dimension `i` of size `r` (`P * r` threads, each reducing
    `R / r` elements) into a tensor filled with the combiner's neutral
    element, then a final reduction over `i` into the original init.

    ```mlir
    // sum over 4096 elements of 8 rows: 8 threads
    linalg.generic {iterator_types = ["parallel", "reduction"]}
        ins(%x : tensor<8x4096xf32>) outs(%acc : tensor<8xf32>)
    ```

    becomes a reduction of `tensor<8x1024x4xf32>` (the expanded input, read
    as `[row, i, j]`) into `tensor<1024x8xf32>` (8192 threads of 4 elements)
    and a reduction of that over `i` (which the pass then splits again, as
    long as it qualifies).

    A `linalg.generic` or `linalg.reduce` on tensors qualifies if it has
    exactly one reduction loop, one output, projected-permutation indexing
    maps, static loop ranges, no `linalg.index`, a combiner that
    `splitReduction` supports (one op with a neutral element: `addf`,
    `mulf`, `maximumf`, `minimumf`, `maxnumf`, `minnumf` and their integer
    counterparts), a reduction size `R >= min-reduction-size` and a
    parallel iteration count `P` (the product of its parallel loop ranges)
    `< min-parallel-work`. The ratio `r` is the smallest divisor of `R` in
    `[2, R / 4]` with `P * r >= min-parallel-work`, or, if none reaches the
    target, the largest divisor in that range: each partial thread keeps at
    least 4 elements. A reduction without such a divisor (`R` prime) stays.
    The final reduction over `r` is split in turn while it qualifies, so a
    long reduction becomes a tree. Other named ops (the contractions that
    cuBLAS takes) are left alone.

    Run it on tensors, before bufferization. Splitting changes the order in
    which floating-point values are combined, so results may differ in the
    last bits.
  }];
  let options = [
    Option<"minReductionSize", "min-reduction-size", "int64_t",
           /*default=*/"64",
           "Smallest reduction size that is split">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"16384",
           "Parallel iteration count (threads) that needs no split, and the "
           "target of a split">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numSplit", "num-split", "Number of reductions split">,
  ];
}

def TaylorParallelDimsFirst
    : Pass<"taylor-parallel-dims-first", "func::FuncOp"> {
  let summary = "Interchange linalg loops so that the parallel ones are outermost";
  let description = [{
    `convert-linalg-to-parallel-loops` emits one `scf.parallel` for the
    leading parallel loops of a linalg op and `scf.for` for the others, in
    the op's loop order: a reduction that comes first (the sum over the
    directions of a jet, `iterator_types = ["reduction", "parallel",
    "parallel"]`) gives `scf.for { scf.parallel }`, which cannot be mapped
    to GPU threads. This pass permutes the loops of every `linalg.generic`
    (a named op is generalized first, only when it needs the permutation)
    so that its parallel loops come first, each group in its order:
    `["parallel", "parallel", "reduction"]`. Linalg's parallel loops are
    independent by definition, so the permutation is always legal, and the
    order of the accumulation along each reduction is unchanged (so is every
    rounding).

    Run it on buffers or tensors, before `convert-linalg-to-parallel-loops`
    (`taylor-cuda-map` does).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
  let statistics = [
    Statistic<"numInterchanged", "num-interchanged",
              "Number of linalg ops whose loops were permuted">,
  ];
}

def TaylorGpuMapLoops : Pass<"taylor-gpu-map-loops", "func::FuncOp"> {
  let summary = "Place the loops and memory accesses of host functions on GPU threads";
  let description = [{
    Prepares a bufferized host function (after
    `convert-linalg-to-parallel-loops`) for upstream
    `convert-parallel-loops-to-gpu`, so that no computation on buffers is
    left on the host, whose buffers will be in device memory:

    1. A `memref.copy` that `gpu.memcpy` cannot do (an operand without the
       identity layout: strided slices, transposes) becomes a
       `linalg.copy` and then an `scf.parallel` loop nest (a kernel).
    2. Every top-level `scf.parallel` (not nested in another one) is
       collapsed to one dimension (`scf::collapseParallelLoops`), tiled by
       `block-size` with a bounds guard (`scf::tileParallelLoop` without
       min/max bounds; a static trip count below `block-size` gives one
       block of exactly that many threads) and given the
       `#gpu.loop_dim_map` mapping attributes: the outer loop to block x,
       the inner one to thread x. `convert-parallel-loops-to-gpu` then
       makes a `gpu.launch` with one thread per iteration. `scf.parallel`
       ops nested in it become `scf.for` nests (each thread runs them). A
       dynamic trip count is guarded by `scf.if` (a launch cannot have zero
       blocks).
    3. Any other run of consecutive host ops that read or write memory
       (`scf.for` nests with no parallel loop, such as reductions to a
       scalar or the loops of `taylor-lower-matrix-ops`; `memref.load` /
       `memref.store`; the pure ops that compute from them) is wrapped in a
       one-iteration `scf.parallel` mapped to block x: a launch of one
       thread, which is correct but serial.
    4. A host op that holds both host-only ops (allocation, copy, call) and
       memory accesses in its regions (an `scf.for` whose body allocates)
       stays on the host, and the ops in its regions are placed in the
       same way, one region at a time. So does an op without results that
       holds parallel loops (an `scf.for` around an `scf.parallel`): its
       parallel loops are mapped to threads rather than run by one.

    `memref.get_global` values used on the device are re-created inside the
    loop body (the global then lives in the kernel's module).

    Each launch's outer loop is named for outlining (attributes that
    `convert-parallel-loops-to-gpu` passes on to the `gpu.launch`):
    `module = @<kernel-module>`, `function = @<func>_kernel_<n>` (n counts
    the launches of the function from 0), so that `gpu-kernel-outlining`
    puts every kernel of the program in one `gpu.module` (one binary, one
    load at run time). An empty `kernel-module` leaves the launches unnamed
    (one module per kernel).

    What cannot be placed is refused with an error naming the op, and the
    pass fails: an `scf.parallel` that holds a host-only op (`memref.alloc`,
    `memref.dealloc`, `memref.copy`, a call, a `gpu` op) or that has
    reductions (results); a value computed from device memory that the host
    needs (a loaded scalar used as a loop bound, a size, or returned); a
    non-constant global used on the device.

    Example (block size 256):

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c64) step (%c1, %c1) {
      %x = memref.load %a[%i, %j] : memref<8x64xf64>
      memref.store %x, %b[%i, %j] : memref<8x64xf64>
    }
    ```

    becomes a loop over 512 iterations tiled into 2 blocks of 256 threads:

    ```mlir
    scf.parallel (%b) = (%c0) to (%c512) step (%c256) {
      scf.parallel (%t) = (%c0) to (%c256) step (%c1) {
        ... %i, %j from %b + %t ...
      } {mapping = [#gpu.loop_dim_map<processor = thread_x, ...>]}
    } {mapping = [#gpu.loop_dim_map<processor = block_x, ...>]}
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block">,
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"taylor_kernels\"",
           "The gpu.module the kernels are outlined into (empty: one module "
           "per kernel)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
  let statistics = [
    Statistic<"numMapped", "num-mapped",
              "Number of scf.parallel loops mapped to blocks and threads">,
    Statistic<"numSerial", "num-serial",
              "Number of one-thread launches (serial code on the device)">,
    Statistic<"numCopies", "num-copies",
              "Number of memref.copy ops turned into loops">,
  ];
}

def TaylorGpuHostMemory : Pass<"taylor-gpu-host-memory", "func::FuncOp"> {
  let summary = "Host-side buffer ops on device memory: gpu.alloc, gpu.dealloc, gpu.memcpy";
  let description = [{
    After `taylor-gpu-map-loops`, every buffer of a host function lives in
    device memory (the function's memref arguments are device buffers too).
    This pass rewrites the host-side buffer ops to their `gpu` counterparts,
    synchronous (no async tokens; `gpu-async-region` adds them later):

    - `memref.alloc` -> `gpu.alloc` (same type and sizes);
    - `memref.dealloc` -> `gpu.dealloc`;
    - `memref.copy` -> `gpu.memcpy` (both operands with the identity
      layout).

    Code on the device (inside `gpu.launch` or an `scf.parallel` with a GPU
    mapping) is left alone. What the host cannot do on device memory is an
    error naming the op, and the pass fails: a `memref.load`,
    `memref.store` or any other memory access on the host, a `memref.copy`
    with a strided operand (`taylor-gpu-map-loops` makes these loops), a
    `memref.alloca`, or an allocation with a layout.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
  ];
  let statistics = [
    Statistic<"numAllocs", "num-allocs", "Number of gpu.alloc ops created">,
    Statistic<"numDeallocs", "num-deallocs",
              "Number of gpu.dealloc ops created">,
    Statistic<"numCopies", "num-copies", "Number of gpu.memcpy ops created">,
  ];
}

#endif // TAYLOR_TRANSFORMS_PASSES_TD
