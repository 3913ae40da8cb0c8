"""taylor-mlir demonstration (`make demo`).

1. `taylor_mlir.compile` on the collapsed-Taylor-mode paper's MLP: its
   Laplacian, the error against torch.func and the time per call;
2. every operator on a small MLP against torch.func;
3. `taylor-opt` and the `taylor` dialect; 4. the Python bindings.

Fast code generation (vectorization, both cores) comes next; see the
CHANGELOG.
"""

import subprocess
import time
import timeit
from pathlib import Path

import numpy as np
import taylor_mlir
from taylor_mlir import ir
from taylor_mlir.dialects import func, taylor
from taylor_mlir.jit import JitModule
from taylor_mlir.tools import taylor_opt

HERE = Path(__file__).resolve().parent


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def demo_taylor_opt() -> None:
    section("3. taylor-opt: the taylor dialect, lowered by taylor-lower")
    source = HERE / "weighted_top.mlir"
    print(source.read_text().strip())
    print("\n$ taylor-opt weighted_top.mlir --taylor-lower")
    lowered = subprocess.run(
        [taylor_opt(), str(source), "--taylor-lower"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(lowered.strip())


def demo_python_bindings() -> None:
    section("4. Python: build a jet with the generated builders, JIT, run")
    R, shape = 5, [2, 3]
    rng = np.random.default_rng(0)
    with ir.Context(), ir.Location.unknown():
        f64 = ir.F64Type.get()
        primal = ir.RankedTensorType.get(shape, f64)
        directional = ir.RankedTensorType.get([R, *shape], f64)
        weights = ir.RankedTensorType.get([R], f64)
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):

            @func.FuncOp.from_py_func(primal, directional, weights)
            def weighted_first(x0, x1, w):
                jet = taylor.make_jet(taylor.JetType.get(1, R, primal), [x0, x1])
                return taylor.coeff(taylor.sum(jet, weights=w), 1)

        print(module)
        jit = JitModule(module)
    x0 = rng.standard_normal(shape)
    x1 = rng.standard_normal((R, *shape))
    w = rng.standard_normal(R)
    (got,) = jit.weighted_first(x0, x1, w)
    err = np.abs(got - np.tensordot(w, x1, axes=1)).max()
    print(f"sum_r w_r x1[r] from the JIT vs numpy: max abs error {err:.1e}")


def paper_mlp(dim: int):
    """The collapsed-Taylor-mode paper's MLP D -> 768 -> 768 -> 512 -> 512 -> 1,
    tanh, float64 (../shared/docs/PEERS.md)."""
    import torch

    torch.manual_seed(0)
    widths = [dim, 768, 768, 512, 512]
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    layers.append(torch.nn.Linear(widths[-1], 1))
    return torch.nn.Sequential(*layers).double()


def median_time(fn, repeat: int = 5) -> float:
    fn()  # warm-up
    return float(np.median(timeit.repeat(fn, number=1, repeat=repeat)))


def demo_compile() -> None:
    import torch

    # Inference: no autograd node (training: examples/pinn_poisson.py).
    with torch.no_grad():
        _demo_compile()


def _demo_compile() -> None:
    section("1. tm.compile: the Laplacian of the paper's MLP")
    import torch

    D, B = 50, 32
    model = paper_mlp(D)
    x = torch.randn(B, D, dtype=torch.float64)
    start = time.perf_counter()
    lap = taylor_mlir.compile(model, op="laplacian", example_inputs=x)
    compile_time = time.perf_counter() - start
    y = lap(x)

    def f(xi):
        return model(xi[None])[0, 0]

    def reference():
        return torch.vmap(lambda xi: torch.func.hessian(f)(xi).trace())(x)

    want = reference()
    error = ((y - want).abs().max() / want.abs().max()).item()
    ours = median_time(lambda: lap(x))
    theirs = median_time(reference, repeat=3)
    print(f"model: MLP {D}->768->768->512->512->1, tanh, float64; batch {B}")
    print(
        f"lap = tm.compile(model, op='laplacian', example_inputs=x)  "
        f"[{compile_time:.1f} s]"
    )
    print(f"lap(x)[:4] = {y[:4].numpy()}")
    print(f"max relative error vs torch.func (vmap(hessian).trace): {error:.1e}")
    print(
        f"time per call: {ours * 1e3:.1f} ms  "
        f"(torch.func: {theirs * 1e3:.1f} ms, {theirs / ours:.1f}x)"
    )
    standard = taylor_mlir.compile(
        model, op="laplacian", example_inputs=x, collapsed=False
    )
    std = median_time(lambda: standard(x))
    print(
        f"standard Taylor mode (collapsed=False): {std * 1e3:.1f} ms per call; "
        f"collapsed/standard = {ours / std:.2f}"
    )


def demo_operators() -> None:
    section("2. Every operator, against torch.func (float64)")
    import torch
    from torch.func import hessian, jacfwd, vmap

    D, B = 3, 8
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(D, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)
    ).double()
    x = torch.randn(B, D, dtype=torch.float64)

    def f(xi):
        return model(xi[None])[0, 0]

    H = vmap(hessian(f))(x)
    T4 = vmap(jacfwd(jacfwd(hessian(f))))(x)
    sigma = torch.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, -1.0]], dtype=torch.float64)
    v = torch.tensor([[1.0, 2.0, 0.0]], dtype=torch.float64)
    cases = [
        ("laplacian", {}, H.diagonal(dim1=1, dim2=2).sum(-1)),
        (
            "weighted_laplacian",
            {"sigma": sigma},
            torch.einsum("bij,ir,jr->b", H, sigma, sigma),
        ),
        ("biharmonic", {}, torch.einsum("biijj->b", T4)),
        (
            "linear",
            {"terms": {(2, 0, 0): 1.0, (0, 1, 1): -2.0, (1, 0, 0): 0.5}},
            H[:, 0, 0] - 2 * H[:, 1, 2] + 0.5 * vmap(torch.func.grad(f))(x)[:, 0],
        ),
        (
            "taylor",
            {"order": 2, "directions": v},
            torch.einsum("bij,i,j->b", H, v[0], v[0]),
        ),
    ]
    for op, options, want in cases:
        compiled = taylor_mlir.compile(model, op=op, example_inputs=x, **options)
        got = compiled(x)
        if op == "taylor":
            got = got[2, 0]  # f_2 along v: [K+1, R, B]
        error = ((got - want).abs().max() / want.abs().max()).item()
        print(f"{op:20s} max relative error {error:.1e}")
    lap = H.diagonal(dim1=1, dim2=2).sum(-1)
    estimator = taylor_mlir.compile(
        model,
        op="stochastic_laplacian",
        example_inputs=x,
        samples=4,
        seed=np.random.default_rng(0),
    )
    mean = torch.stack([estimator(x) for _ in range(400)]).mean(0)
    error = ((mean - lap).abs().max() / lap.abs().max()).item()
    print(
        f"{'stochastic_laplacian':20s} mean of 400 calls (S = 4): "
        f"relative deviation {error:.1e}"
    )


def main() -> None:
    print(f"taylor-mlir {taylor_mlir.__version__}")
    demo_compile()
    demo_operators()
    demo_taylor_opt()
    demo_python_bindings()


if __name__ == "__main__":
    main()
