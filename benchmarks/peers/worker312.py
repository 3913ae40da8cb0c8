"""One measurement of a Python 3.12 peer for ``benchmarks/operators.py``.

Run by the suite with the peers' venv (``build/peers/py312/bin/python``)::

    worker312.py '<spec as JSON>'

Methods:

- ``jet_collapsed``, ``jet_standard``: jet-for-pytorch 1.0.0, called the way
  its authors benchmark it (``jet/exp/exp01_benchmark_laplacian/execute.py``):
  the per-datum operator (``jet.laplacian`` / ``jet.bilaplacian`` with
  ``collapsed=``, ``randomization=("normal", S)``, ``weighting=`` from
  ``jet.weighted_laplacian.get_weighting(x, ("diagonal_increments", 1.0))``,
  i.e. C = diag(1..R)), traced by ``jet.capture_graph``, simplified by
  ``jet.common_subexpression_elimination``, ``torch.vmap``-ed over the batch
  (``randomness="different"``: every datum draws its own directions), called
  under ``torch.no_grad()`` (the parameters do not require gradients).
- ``folx``: ``folx.forward_laplacian`` (sparsity threshold 0, as in jet's JAX
  benchmark ``exp04_jax_benchmark``), ``jax.vmap``-ed over the batch under one
  ``jax.jit``, the MLP rebuilt in JAX with the same weights (passed as jit
  arguments, not constants); the weighted Laplacian through folx's
  ``weights=`` (a per-coordinate scaling of the input's Jacobian: C must be
  diagonal, ``weights = sqrt(diag C)``).

Prints one JSON object (see ``harness.measure``); the operator's value is
saved to ``spec["output"]``, and for stochastic operators with
``spec["check_output"]`` the value with the given directions
``check_d{D}_s{S}`` of the data file (jet: its sampler patched to return them).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

# --------------------------------------------------------------------------
# jet-for-pytorch
# --------------------------------------------------------------------------


def jet_operator(spec: dict[str, Any], model: Any, x: Any, directions: Any = None):
    """The batched operator ``x -> [B]`` built as in jet's own benchmark."""
    import jet
    import jet._bilaplacian
    import jet._laplacian
    import torch
    from jet.weighted_laplacian import get_weighting
    from torch.func import vmap

    op = spec["operator"]
    collapsed = spec["method"] == "jet_collapsed"
    samples = spec.get("samples")
    randomization = ("normal", samples) if op.startswith("stochastic") else None
    x0 = x[0]

    saved = (jet._laplacian.sample, jet._bilaplacian.sample)
    if directions is not None:
        # Given directions instead of random ones (the correctness check).
        fixed = torch.as_tensor(directions, dtype=x.dtype)

        def given(x_meta, distribution, shape):
            return fixed.reshape(shape)

        jet._laplacian.sample = jet._bilaplacian.sample = given
    try:
        if op in ("laplacian", "stochastic_laplacian"):
            fn = jet.laplacian(
                model, (x0,), collapsed=collapsed, randomization=randomization
            )
        elif op == "weighted_laplacian":
            sigma = np.asarray(spec["sigma"])
            expected = np.diag(np.sqrt(np.arange(1, sigma.shape[1] + 1)))
            if sigma.shape != (x0.numel(), sigma.shape[1]) or not np.allclose(
                sigma, expected[: sigma.shape[0]]
            ):
                raise ValueError(
                    "jet: the suite uses jet's own C = diag(1..R) weighting"
                )
            weighting = get_weighting(x0, ("diagonal_increments", 1.0))
            fn = jet.laplacian(model, (x0,), collapsed=collapsed, weighting=weighting)
        else:
            fn = jet.bilaplacian(
                model, (x0,), collapsed=collapsed, randomization=randomization
            )
        fn, _ = jet.capture_graph(fn, (x0,))
        jet.common_subexpression_elimination(fn.graph)
        fn.recompile()
    finally:
        jet._laplacian.sample, jet._bilaplacian.sample = saved
    batched = vmap(fn, randomness="error" if randomization is None else "different")

    def call():
        with torch.no_grad():
            return batched(x)

    return call


def run_jet(spec: dict[str, Any], data: Any) -> dict[str, Any]:
    import torch

    dtype = {"float64": torch.float64, "float32": torch.float32}[spec["dtype"]]
    dim, batch = spec["dim"], spec["batch"]
    model = harness.torch_mlp(data, dim, dtype)
    x = torch.from_numpy(np.array(data[f"x_d{dim}_b{batch}"])).to(dtype)
    spec = dict(spec)
    if "sigma" in data:
        spec["sigma"] = np.array(data["sigma"])
    harness.prime_blas()
    start = time.perf_counter()
    call = jet_operator(spec, model, x)
    setup_s = time.perf_counter() - start
    return finish(spec, data, call, setup_s, lambda r: r, torch_check(spec, data, x))


def torch_check(spec, data, x):
    def check(directions):
        model = harness.torch_mlp(data, spec["dim"], x.dtype)
        return jet_operator(spec, model, x, directions)()

    return check


# --------------------------------------------------------------------------
# folx
# --------------------------------------------------------------------------


def run_folx(spec: dict[str, Any], data: Any) -> dict[str, Any]:
    import jax

    if spec["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from folx import forward_laplacian

    op, dim, batch = spec["operator"], spec["dim"], spec["batch"]
    dtype = {"float64": jnp.float64, "float32": jnp.float32}[spec["dtype"]]
    params = []
    i = 0
    while f"d{dim}_w{i}" in data:
        weight = np.array(data[f"d{dim}_w{i}"])
        params.append(
            (
                jnp.asarray(weight.T, dtype=dtype),
                jnp.asarray(np.array(data[f"d{dim}_b{i}"]), dtype=dtype),
            )
        )
        i += 1
    x = jnp.asarray(np.array(data[f"x_d{dim}_b{batch}"]), dtype=dtype)

    def mlp(params, xi):
        h = xi
        for k, (w, b) in enumerate(params):
            h = h @ w + b
            if k < len(params) - 1:
                h = jnp.tanh(h)
        return h[0]

    weights = 1.0
    if op == "weighted_laplacian":
        sigma = np.array(data["sigma"])
        if sigma.shape[0] != sigma.shape[1] or np.count_nonzero(
            sigma - np.diag(np.diag(sigma))
        ):
            raise ValueError("folx weights scale coordinates: sigma must be diagonal")
        weights = jnp.asarray(np.diag(sigma), dtype=dtype)

    def laplacian(params, xi):
        fwd = forward_laplacian(lambda y: mlp(params, y), 0, disable_jit=True)
        return fwd(xi, weights=weights).laplacian

    harness.prime_blas()
    # Compiled ahead of time (set-up), as taylor-mlir compiles in tm.compile.
    start = time.perf_counter()
    batched = jax.jit(jax.vmap(laplacian, in_axes=(None, 0)))
    compiled = batched.lower(params, x).compile()
    setup_s = time.perf_counter() - start

    def call():
        return compiled(params, x)

    return finish(spec, data, call, setup_s, lambda r: r.block_until_ready(), None)


# --------------------------------------------------------------------------


def finish(spec, data, call, setup_s, sync, check) -> dict[str, Any]:
    """Measures ``call`` (or calls it once for ``reference_only``), saves its
    value and the check value, returns the child's JSON object."""
    result, first = harness.measure_spec(spec, call, sync)
    value = harness.float64_output(first)
    harness.save_output(spec.get("output"), value)
    result["setup_s"] = setup_s
    result["compile_s"] = setup_s + result["first_call_s"]
    result["value_mean"] = float(np.mean(value))
    key = f"check_d{spec['dim']}_s{spec.get('samples')}"
    if check is not None and spec.get("check_output") and key in data:
        checked = harness.float64_output(check(np.array(data[key])))
        harness.save_output(spec["check_output"], checked)
    return result


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for name in ("torch", "jet-for-pytorch", "jax", "jaxlib", "folx", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def main() -> None:
    if sys.argv[1:] == ["--versions"]:
        print(json.dumps(versions()))
        return
    spec = json.loads(sys.argv[1])
    harness.apply_threads_in_child(spec["threads"])
    try:
        data = np.load(spec["data"])
        if spec["method"] in ("jet_collapsed", "jet_standard"):
            result = run_jet(spec, data)
        elif spec["method"] == "folx":
            result = run_folx(spec, data)
        else:
            raise ValueError(f"unknown method {spec['method']!r}")
        result["status"] = "ok"
    except Exception as error:  # noqa: BLE001 (reported; the parent goes on)
        result = harness.error_result(error)
    harness.emit(result)


if __name__ == "__main__":
    main()
