"""The taylor-to-llvm pipeline and the ExecutionEngine wrapper, on numpy and
torch inputs, against numpy references."""

import numpy as np
import pytest

from taylor_mlir import ir
from taylor_mlir.errors import CompilationError
from taylor_mlir.jit import JitModule

TOL = {"f64": 1e-13, "f32": 1e-5}
NP = {"f64": np.float64, "f32": np.float32}

MLP_LAYER = """
#id = affine_map<(b, n) -> (b, n)>
#row = affine_map<(b, n) -> (n)>
func.func @layer(%x: tensor<{B}x{D}x{T}>, %w: tensor<{D}x{N}x{T}>, %b: tensor<{N}x{T}>)
    -> tensor<{B}x{N}x{T}> {{
  %zero = arith.constant 0.0 : {T}
  %e = tensor.empty() : tensor<{B}x{N}x{T}>
  %acc = linalg.fill ins(%zero : {T}) outs(%e : tensor<{B}x{N}x{T}>) -> tensor<{B}x{N}x{T}>
  %mm = linalg.matmul ins(%x, %w : tensor<{B}x{D}x{T}>, tensor<{D}x{N}x{T}>)
                      outs(%acc : tensor<{B}x{N}x{T}>) -> tensor<{B}x{N}x{T}>
  %y = linalg.generic {{indexing_maps = [#id, #row, #id],
                        iterator_types = ["parallel", "parallel"]}}
      ins(%mm, %b : tensor<{B}x{N}x{T}>, tensor<{N}x{T}>) outs(%e : tensor<{B}x{N}x{T}>) {{
  ^bb0(%m: {T}, %bias: {T}, %out: {T}):
    %s = arith.addf %m, %bias : {T}
    %t = math.tanh %s : {T}
    linalg.yield %t : {T}
  }} -> tensor<{B}x{N}x{T}>
  return %y : tensor<{B}x{N}x{T}>
}}
"""


@pytest.mark.parametrize("dtype", ["f64", "f32"])
def test_linalg_layer_matches_numpy(dtype, rng):
    B, D, N = 7, 5, 3
    mod = JitModule(MLP_LAYER.format(B=B, D=D, N=N, T=dtype))
    x, w, b = (rng.standard_normal(s).astype(NP[dtype]) for s in [(B, D), (D, N), (N,)])
    (y,) = mod.layer(x, w, b)
    assert y.dtype == NP[dtype] and y.shape == (B, N)
    np.testing.assert_allclose(y, np.tanh(x @ w + b), rtol=TOL[dtype], atol=TOL[dtype])


SUM = """
func.func @top(%x0: tensor<{S}x{T}>, %x1: tensor<{R}x{S}x{T}>, %x2: tensor<{R}x{S}x{T}>, %w: tensor<{R}x{T}>)
    -> (tensor<{S}x{T}>, tensor<{R}x{S}x{T}>, tensor<{S}x{T}>) {{
  %j = taylor.make_jet %x0, %x1, %x2 : tensor<{S}x{T}>, tensor<{R}x{S}x{T}>, tensor<{R}x{S}x{T}>
      -> !taylor.jet<2, {R}, tensor<{S}x{T}>>
  %s = taylor.sum %j {weights} : !taylor.jet<2, {R}, tensor<{S}x{T}>>
      -> !taylor.jet<2, {R}, tensor<{S}x{T}>, collapsed>
  %0 = taylor.coeff %s[0] : !taylor.jet<2, {R}, tensor<{S}x{T}>, collapsed> -> tensor<{S}x{T}>
  %1 = taylor.coeff %s[1] : !taylor.jet<2, {R}, tensor<{S}x{T}>, collapsed> -> tensor<{R}x{S}x{T}>
  %2 = taylor.coeff %s[2] : !taylor.jet<2, {R}, tensor<{S}x{T}>, collapsed> -> tensor<{S}x{T}>
  return %0, %1, %2 : tensor<{S}x{T}>, tensor<{R}x{S}x{T}>, tensor<{S}x{T}>
}}
"""


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("kind", ["ones", "static", "runtime"])
def test_taylor_sum_matches_numpy(kind, dtype, rng):
    R, shape = 4, (3, 2)
    S = "x".join(map(str, shape))
    w = rng.standard_normal(R).astype(NP[dtype])
    weights = {
        "ones": "",
        "static": "static_weights [" + ", ".join(repr(float(v)) for v in w) + "]",
        "runtime": f"weights(%w : tensor<{R}x{dtype}>)",
    }[kind]
    mod = JitModule(SUM.format(S=S, R=R, T=dtype, weights=weights))
    x0 = rng.standard_normal(shape).astype(NP[dtype])
    x1, x2 = (rng.standard_normal((R, *shape)).astype(NP[dtype]) for _ in range(2))
    c0, c1, c2 = mod.top(x0, x1, x2, w)
    expected_w = np.ones(R, NP[dtype]) if kind == "ones" else w
    np.testing.assert_array_equal(c0, x0)
    np.testing.assert_array_equal(c1, x1)
    np.testing.assert_allclose(
        c2, np.tensordot(expected_w, x2, axes=1), rtol=TOL[dtype], atol=TOL[dtype]
    )


IN_PLACE = """
func.func @add_into_first(%a: tensor<4xf64>, %b: tensor<4xf64>) -> tensor<4xf64> {
  %r = linalg.add ins(%a, %b : tensor<4xf64>, tensor<4xf64>) outs(%a : tensor<4xf64>) -> tensor<4xf64>
  return %r : tensor<4xf64>
}
"""


def test_inputs_are_never_written(rng):
    """A linalg op that could update an argument in place must not."""
    mod = JitModule(IN_PLACE)
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    a_before, b_before = a.copy(), b.copy()
    (r,) = mod.add_into_first(a, b)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)
    np.testing.assert_allclose(r, a_before + b_before, rtol=1e-15)


def test_torch_tensors_in_and_out():
    torch = pytest.importorskip("torch")
    mod = JitModule(IN_PLACE)
    a = torch.arange(4, dtype=torch.float64)
    b = torch.ones(4, dtype=torch.float64)
    (r,) = mod.add_into_first(a, b)
    assert isinstance(r, torch.Tensor) and r.dtype == torch.float64
    assert torch.equal(r, a + 1) and torch.equal(
        a, torch.arange(4, dtype=torch.float64)
    )


def test_non_contiguous_inputs(rng):
    mod = JitModule(IN_PLACE)
    a = rng.standard_normal((4, 2))[:, 0]  # strided view
    b = rng.standard_normal(4)
    (r,) = mod.add_into_first(a, b)
    np.testing.assert_allclose(r, a + b, rtol=1e-15)


def test_bad_arguments_are_reported(rng):
    mod = JitModule(IN_PLACE)
    with pytest.raises(
        ValueError, match=r"argument 1: expected dtype float64, got float32"
    ):
        mod.add_into_first(np.zeros(4), np.zeros(4, np.float32))
    with pytest.raises(
        ValueError, match=r"argument 0: expected shape \(4\), got \(5,\)"
    ):
        mod.add_into_first(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="expects 2 arguments, got 1"):
        mod.add_into_first(np.zeros(4))
    with pytest.raises(KeyError, match="no function @nope"):
        mod.call("nope")


def test_dynamic_result_shape_is_reported():
    mod = JitModule("""
        func.func @id(%a: tensor<?xf64>) -> tensor<?xf64> {
          return %a : tensor<?xf64>
        }""")
    with pytest.raises(ValueError, match="dynamic shape.*pass result_shapes"):
        mod.id(np.zeros(3))
    (out,) = mod.call("id", np.arange(3.0), result_shapes=[(3,)])
    np.testing.assert_array_equal(out, np.arange(3.0))


def test_outputs_are_written_in_place():
    mod = JitModule("""
        func.func @twice(%a: tensor<3xf64>) -> tensor<3xf64> {
          %e = tensor.empty() : tensor<3xf64>
          %r = linalg.add ins(%a, %a : tensor<3xf64>, tensor<3xf64>)
                          outs(%e : tensor<3xf64>) -> tensor<3xf64>
          return %r : tensor<3xf64>
        }""")
    out = np.zeros(3)
    (got,) = mod.call("twice", np.arange(3.0), outputs=[out])
    assert got is out
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    with pytest.raises(ValueError, match="result 0: the output must be C-contiguous"):
        mod.call("twice", np.arange(3.0), outputs=[np.zeros(6)[::2]])


def test_failing_pipeline_raises_with_diagnostic():
    with pytest.raises(CompilationError, match="'arith.select' op cannot be lowered"):
        JitModule("""
            func.func @f(%x0: tensor<4xf64>, %x1: tensor<3x4xf64>, %c: tensor<i1>)
                -> tensor<4xf64> {
              %p = tensor.extract %c[] : tensor<i1>
              %a = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64>
                  -> !taylor.jet<1, 3, tensor<4xf64>>
              %b = taylor.make_jet %x0, %x1 : tensor<4xf64>, tensor<3x4xf64>
                  -> !taylor.jet<1, 3, tensor<4xf64>>
              %j = arith.select %p, %a, %b : !taylor.jet<1, 3, tensor<4xf64>>
              %0 = taylor.coeff %j[0] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<4xf64>
              return %0 : tensor<4xf64>
            }""")


def test_jet_arguments_are_rejected():
    with pytest.raises(
        TypeError, match="only ranked tensor types are supported, got !taylor.jet"
    ):
        JitModule("""
            func.func @f(%j: !taylor.jet<1, 3, tensor<4xf64>>) -> tensor<4xf64> {
              %0 = taylor.coeff %j[0] : !taylor.jet<1, 3, tensor<4xf64>> -> tensor<4xf64>
              return %0 : tensor<4xf64>
            }""")


def test_unsupported_signature_is_reported():
    with pytest.raises(
        TypeError,
        match=r"@f argument 0: only ranked tensor types are supported, got f64",
    ):
        JitModule("func.func @f(%x: f64) { return }")


def test_module_argument_is_not_modified(rng):
    with ir.Context():
        module = ir.Module.parse(IN_PLACE)
        before = str(module)
        mod = JitModule(module, context=module.context)
        assert str(module) == before
    (r,) = mod.add_into_first(np.ones(4), np.ones(4))
    np.testing.assert_array_equal(r, np.full(4, 2.0))


def test_matrix_products_call_blas_with_any_thread_count():
    """taylor-to-llvm turns a matmul into a BLAS call (taylor-gemm-to-blas);
    results agree with numpy for 1 and 2 threads, float64 and float32, and
    with transposed and dynamically shaped operands."""
    from taylor_mlir import blas

    mod = JitModule("""
        func.func @mm(%a: tensor<?x40xf64>, %b: tensor<30x40xf64>) -> tensor<?x30xf64> {
          %z = arith.constant 0.0 : f64
          %c0 = arith.constant 0 : index
          %m = tensor.dim %a, %c0 : tensor<?x40xf64>
          %e = tensor.empty(%m) : tensor<?x30xf64>
          %f = linalg.fill ins(%z : f64) outs(%e : tensor<?x30xf64>) -> tensor<?x30xf64>
          %r = linalg.matmul
                 indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                  affine_map<(m, n, k) -> (n, k)>,
                                  affine_map<(m, n, k) -> (m, n)>]
                 ins(%a, %b : tensor<?x40xf64>, tensor<30x40xf64>)
                 outs(%f : tensor<?x30xf64>) -> tensor<?x30xf64>
          return %r : tensor<?x30xf64>
        }
        func.func @mm32(%a: tensor<7x5xf32>, %b: tensor<5x3xf32>) -> tensor<7x3xf32> {
          %z = arith.constant 0.0 : f32
          %e = tensor.empty() : tensor<7x3xf32>
          %f = linalg.fill ins(%z : f32) outs(%e : tensor<7x3xf32>) -> tensor<7x3xf32>
          %r = linalg.matmul ins(%a, %b : tensor<7x5xf32>, tensor<5x3xf32>)
                             outs(%f : tensor<7x3xf32>) -> tensor<7x3xf32>
          return %r : tensor<7x3xf32>
        }""")
    assert "taylor_rt_gemm_f64" in str(mod.module)
    assert "taylor_rt_gemm_f32" in str(mod.module)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((50, 40)), rng.standard_normal((30, 40))
    before = blas.get_num_threads()
    try:
        for threads in (1, 2):
            blas.set_num_threads(threads)
            assert blas.get_num_threads() == threads
            (got,) = mod.call("mm", a, b, result_shapes=[(50, 30)])
            np.testing.assert_allclose(got, a @ b.T, rtol=1e-12, atol=1e-12)
    finally:
        blas.set_num_threads(before)
    x, y = rng.standard_normal((7, 5)).astype(np.float32), rng.standard_normal(
        (5, 3)
    ).astype(np.float32)
    (got,) = mod.mm32(x, y)
    np.testing.assert_allclose(got, x @ y, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        blas.set_num_threads(0)


def test_buffers_are_reused_across_calls(rng):
    """With `reuse_buffers` (the default), the buffers a call frees serve the
    next call's allocations: the second call allocates nothing new. The
    cache is the process's shared pool."""
    from taylor_mlir.jit import shared_buffer_pool

    B, D, N = 64, 32, 48
    mod = JitModule(MLP_LAYER.format(B=B, D=D, N=N, T="f64"))
    x = rng.standard_normal((B, D))
    w, b = rng.standard_normal((D, N)), rng.standard_normal(N)
    want = np.tanh(x @ w + b)
    tracker = mod.allocations
    assert tracker is shared_buffer_pool()
    tracker.release()
    allocations, reused = tracker.allocations, tracker.reused
    np.testing.assert_allclose(mod.layer(x, w, b)[0], want, rtol=1e-13)
    first = tracker.allocations - allocations
    assert first >= 1 and tracker.live == 0 and tracker.reused == reused
    assert tracker.cached == tracker.reserved >= B * N * 8
    reserved = tracker.reserved
    for _ in range(3):
        np.testing.assert_allclose(mod.layer(x, w, b)[0], want, rtol=1e-13)
    assert tracker.reused - reused == 3 * first
    assert tracker.allocations - allocations == 4 * first
    assert tracker.reserved == reserved
    mod.release_buffers()
    assert tracker.cached == 0 and tracker.reserved == 0
    np.testing.assert_allclose(mod.layer(x, w, b)[0], want, rtol=1e-13)
    assert tracker.reused - reused == 3 * first


def test_cached_buffers_serve_slightly_smaller_requests():
    """A parts' buffers differ by a datum: a cached buffer serves a request
    up to 1/8 smaller than it, not a much smaller one. (`allocate`/`free` are what compiled code's allocations do.)"""
    from taylor_mlir.jit import BufferPool

    pool = BufferPool(reuse=True)
    native = pool.native
    big = native.allocate(1000)
    native.free(big)
    assert native.allocate(900) == big and pool.reused == 1
    assert pool.live == 1024 and pool.cached == 0  # 1000 bytes, rounded up
    native.free(big)
    small = native.allocate(500)
    assert small != big and pool.reused == 1 and pool.cached == 1024
    native.free(small)
    assert native.allocate(1000) == big and native.allocate(500) == small
    assert big % 64 == 0 and small % 64 == 0
    native.free(big)
    native.free(small)
    pool.release()
    assert pool.cached == 0 and pool.reserved == 0


def test_buffers_are_returned_without_reuse(rng):
    B, D, N = 8, 4, 6
    mod = JitModule(MLP_LAYER.format(B=B, D=D, N=N, T="f64"), reuse_buffers=False)
    assert mod.allocations is None
    tracked = JitModule(
        MLP_LAYER.format(B=B, D=D, N=N, T="f64"),
        reuse_buffers=False,
        track_allocations=True,
    )
    x, w, b = (
        rng.standard_normal((B, D)),
        rng.standard_normal((D, N)),
        rng.standard_normal(N),
    )
    for module in (mod, tracked):
        for _ in range(2):
            np.testing.assert_allclose(
                module.layer(x, w, b)[0], np.tanh(x @ w + b), rtol=1e-13
            )
    assert tracked.allocations.peak >= B * N * 8
    assert tracked.allocations.cached == 0 and tracked.allocations.reused == 0


def test_concurrent_calls_share_the_buffer_cache(rng):
    """Calls from several threads at once (the GIL is released while the
    compiled code runs) each get their own buffers."""
    from concurrent.futures import ThreadPoolExecutor

    B, D, N = 32, 16, 24
    mod = JitModule(MLP_LAYER.format(B=B, D=D, N=N, T="f64"))
    inputs = [
        (
            rng.standard_normal((B, D)),
            rng.standard_normal((D, N)),
            rng.standard_normal(N),
        )
        for _ in range(16)
    ]

    def run(args):
        return mod.layer(*args)[0]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, inputs * 4))
    for (x, w, b), got in zip(inputs * 4, results):
        np.testing.assert_allclose(got, np.tanh(x @ w + b), rtol=1e-13)
    assert mod.allocations.live == 0
