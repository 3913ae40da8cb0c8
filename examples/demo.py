"""taylor-mlir demonstration (`make demo`).

What works today: the `taylor` dialect and `taylor-opt`, the `taylor_mlir`
Python package with its own MLIR bindings, the `taylor-to-llvm` pipeline and
the JIT, PyTorch import through torch-mlir in a child process, and the
Taylor-mode transform `taylor-jet` (standard Taylor mode, any order). The
collapse rewrite (`taylor-collapse`), `taylor_mlir.compile(...)` and fast code
generation come next; see the CHANGELOG.
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
    section("1. taylor-opt: the taylor dialect, lowered by taylor-lower")
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
    section("2. Python: build a jet with the generated builders, JIT, run")
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


def demo_torch() -> None:
    section("3. PyTorch -> torch-mlir (child process) -> taylor-mlir JIT")
    try:
        import torch
    except ImportError:
        print("torch is not installed; skipping")
        return
    from taylor_mlir.torch_import import import_torch_module

    torch.manual_seed(0)
    D = 50
    model = torch.nn.Sequential(
        torch.nn.Linear(D, 768),
        torch.nn.Tanh(),
        torch.nn.Linear(768, 768),
        torch.nn.Tanh(),
        torch.nn.Linear(768, 512),
        torch.nn.Tanh(),
        torch.nn.Linear(512, 512),
        torch.nn.Tanh(),
        torch.nn.Linear(512, 1),
    ).double()
    x = torch.randn(16, D, dtype=torch.float64)
    start = time.perf_counter()
    text = import_torch_module(model, (x,))
    imported = time.perf_counter()
    jit = JitModule(text)
    compiled = time.perf_counter()
    (y,) = jit.main(x)
    with torch.no_grad():
        expected = model(x)
    err = (y - expected).abs().max().item()
    runs = 5
    t0 = time.perf_counter()
    for _ in range(runs):
        jit.main(x)
    per_call = (time.perf_counter() - t0) / runs
    t0 = time.perf_counter()
    with torch.no_grad():
        for _ in range(runs):
            model(x)
    torch_per_call = (time.perf_counter() - t0) / runs
    print(f"paper MLP {D}->768->768->512->512->1 (tanh, float64), batch {x.shape[0]}")
    print(f"import {imported - start:.2f} s, lower + JIT {compiled - imported:.2f} s")
    print(f"forward pass: max abs error vs torch {err:.1e}")
    print(
        f"forward pass: {per_call * 1e3:.2f} ms per call (torch eager: "
        f"{torch_per_call * 1e3:.2f} ms); simple loop codegen, not vectorized yet"
    )


def demo_laplacian() -> None:
    section("4. The Laplacian of an MLP: standard and collapsed Taylor mode")
    try:
        import torch
        from torch.func import hessian, vmap
    except ImportError:
        print("torch is not installed; skipping")
        return
    from taylor_mlir import operators
    from taylor_mlir.taylor_mode import broadcast_directions
    from taylor_mlir.torch_import import import_torch_module

    torch.manual_seed(0)
    D, B = 10, 8
    model = torch.nn.Sequential(
        torch.nn.Linear(D, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
    ).double()
    x = torch.randn(B, D, dtype=torch.float64)
    text = import_torch_module(model, (x,))
    laplacian_op = operators.laplacian(D)  # K = 2, the D unit directions, weights 1
    directions = broadcast_directions(torch.from_numpy(laplacian_op.directions), B)

    def scalar_model(xi):
        return model(xi[None])[0, 0]

    torch_laplacian = vmap(lambda xi: torch.trace(hessian(scalar_model)(xi)))
    reference = torch_laplacian(x)  # warm-up
    torch_time = (
        min(timeit.repeat(lambda: torch_laplacian(x), number=20, repeat=5)) / 20
    )
    print(f"MLP {D}->64->64->1 (tanh, float64), batch {B}, {D} directions")
    print(f"torch.func (trace of the Hessian): {torch_time * 1e3:.2f} ms per call")

    # K = 2 along the D unit directions (x_2 = 0 is not materialized), the top
    # coefficient summed over the directions: the Laplacian.
    for collapse in (False, True):
        start = time.perf_counter()
        jet = laplacian_op.taylor_jet(text, collapse=collapse)
        compiled = time.perf_counter()
        _, _, laplacian = jet(x, directions)
        per_call = (
            min(timeit.repeat(lambda j=jet: j(x, directions), number=20, repeat=5)) / 20
        )
        err = ((laplacian[:, 0] - reference).abs().max() / reference.abs().max()).item()
        mode = "collapsed" if collapse else "standard "
        print(
            f"{mode} Taylor mode (best of 5 x 20 calls): compile {compiled - start:.2f} s, "
            f"{per_call * 1e3:.2f} ms per call, max relative error {err:.1e}"
        )
    print("after taylor-collapse, the Laplacian's jets are collapsed:")
    body = jet.collapsed_ir.split(f"func.func @{jet.jet_function}")[1]
    print(
        "\n".join(line for line in body.splitlines() if "taylor.propagate" in line)[
            :600
        ]
    )


def main() -> None:
    print(f"taylor-mlir {taylor_mlir.__version__}")
    demo_taylor_opt()
    demo_python_bindings()
    demo_torch()
    demo_laplacian()


if __name__ == "__main__":
    main()
