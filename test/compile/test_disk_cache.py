"""The disk compile cache (`taylor_mlir.compile_cache`): a second process
skips torch.export and torch-mlir, a fingerprint hit is validated by the
self-check, changed models miss, corrupt entries are rebuilt, and a disabled
cache writes nothing. Every test uses its own cache directory."""

import copy
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import taylor_mlir as tm
from taylor_mlir import compile_cache

import reference as ref
from reference import relative_error
from test_compile import inputs, mlp

EXPORT, IMPORT = "torch.export", "torch-mlir import"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty disk cache and an empty in-process cache."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("TAYLOR_MLIR_CACHE_DIR", str(directory))
    monkeypatch.delenv("TAYLOR_MLIR_CACHE", raising=False)
    tm.clear_compile_cache(disk=False)
    yield directory
    tm.clear_compile_cache(disk=False)


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.entry")) if directory.exists() else []


def info_delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k, v in before.items() if type(v) is int}


def compile_fresh_process(model, op, x, **kwargs):
    """``tm.compile`` as a new process would see it: nothing in memory."""
    tm.clear_compile_cache(disk=False)
    before = tm.compile_cache_info()
    compiled = tm.compile(model, op=op, example_inputs=x, **kwargs)
    return compiled, info_delta(before, tm.compile_cache_info())


# -- across processes ----------------------------------------------------------

_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import torch
    import taylor_mlir as tm

    class Scaled(torch.nn.Module):
        # Reads state the fingerprint cannot see (an environment variable).
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(
                torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
            )

        def forward(self, x):
            return self.net(x) * float(os.environ["SCALE"])

    model = Scaled().double()
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(1)).double()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    json.dump(
        {
            "timings": list(lap.artifact.timings),
            "origin": lap.artifact.origin,
            "info": tm.compile_cache_info(),
            "laplacian": lap(x).tolist(),
            "x": x.tolist(),
        },
        sys.stdout,
    )
    """)


def _run(tmp_path: Path, scale: str) -> dict:
    script = tmp_path / "compile_once.py"
    script.write_text(_SCRIPT)
    env = {
        **os.environ,
        "TAYLOR_MLIR_CACHE_DIR": str(tmp_path / "cache"),
        "SCALE": scale,
    }
    env.pop("TAYLOR_MLIR_CACHE", None)
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _scaled_laplacian(result: dict, scale: float) -> torch.Tensor:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    ).double()
    x = torch.tensor(result["x"], dtype=torch.float64)
    return ref.laplacian(lambda v: net(v) * scale, x)[:, 0]


def test_a_second_process_hits_and_a_changed_global_is_caught(tmp_path):
    first = _run(tmp_path, "2.0")
    assert first["origin"] == "compiled" and {EXPORT, IMPORT} <= set(first["timings"])
    assert first["info"]["disk_misses"] == 1 and first["info"]["disk_writes"] == 2
    want = _scaled_laplacian(first, 2.0)
    assert (
        relative_error(torch.tensor(first["laplacian"], dtype=torch.float64), want)
        <= 1e-10
    )

    # Same model: neither torch.export nor torch-mlir runs.
    second = _run(tmp_path, "2.0")
    assert second["origin"] == "disk: fingerprint"
    assert EXPORT not in second["timings"] and IMPORT not in second["timings"]
    assert second["info"]["fingerprint_hits"] == 1
    assert second["info"]["disk_hits"] == 1 and second["info"]["disk_misses"] == 0
    assert second["laplacian"] == first["laplacian"]  # the same code

    # A global the fingerprint cannot see changed: the self-check refuses
    # the hit, and the model is exported and imported again.
    third = _run(tmp_path, "3.0")
    assert third["info"]["disk_rejected"] == 1
    assert third["info"]["fingerprint_hits"] == 0
    assert third["origin"] == "compiled" and {EXPORT, IMPORT} <= set(third["timings"])
    want = _scaled_laplacian(third, 3.0)
    assert (
        relative_error(torch.tensor(third["laplacian"], dtype=torch.float64), want)
        <= 1e-10
    )


# -- in one process, the in-memory cache cleared ------------------------------


def test_hits_equal_a_fresh_compile_and_changed_models_miss(cache_dir):
    x = inputs(4, 3)
    model = mlp(3, "tanh", hidden=7, seed=3)
    fresh, delta = compile_fresh_process(model, "laplacian", x)
    assert delta["disk_misses"] == 1 and IMPORT in fresh.artifact.timings
    hit, delta = compile_fresh_process(model, "laplacian", x)
    assert delta["fingerprint_hits"] == 1 and delta["disk_misses"] == 0
    assert hit.artifact is not fresh.artifact
    assert hit.artifact.origin == "disk: fingerprint"
    assert torch.equal(hit(x), fresh(x))
    assert relative_error(hit(x), ref.laplacian(model, x)[:, 0]) <= 1e-10
    # Other weights of the same shapes: the same graph (weights are inputs).
    other = mlp(3, "tanh", hidden=7, seed=4)
    hit, delta = compile_fresh_process(other, "laplacian", x)
    assert delta["fingerprint_hits"] == 1
    assert relative_error(hit(x), ref.laplacian(other, x)[:, 0]) <= 1e-10

    changed = {
        "weight shapes": (mlp(3, "tanh", hidden=9, seed=3), x),
        "activation": (mlp(3, "sigmoid", hidden=7, seed=3), x),
        "dtype": (mlp(3, "tanh", hidden=7, seed=3, dtype=torch.float32), x.float()),
        "batch size": (model, inputs(5, 3)),
    }
    for what, (variant, example) in changed.items():
        compiled, delta = compile_fresh_process(variant, "laplacian", example)
        assert delta["fingerprint_hits"] == 0, what
        assert delta["disk_misses"] == 1, what  # a new graph: imported
        want = ref.laplacian(copy.deepcopy(variant).double(), example.double())
        tolerance = 1e-10 if example.dtype == torch.float64 else 1e-4
        got = compiled(example).double()
        assert relative_error(got, want[:, 0]) <= tolerance, what


def test_another_operator_shares_the_import(cache_dir):
    # The stored import depends on the exported graph only; the operator,
    # its options and collapsed are applied to it afterwards (they key the
    # in-memory cache).
    x = inputs(4, 3)
    model = mlp(3, "sin", hidden=6, seed=5)
    compile_fresh_process(model, "laplacian", x)
    bih, delta = compile_fresh_process(model, "biharmonic", x)
    assert delta["fingerprint_hits"] == 1 and delta["disk_misses"] == 0
    assert relative_error(bih(x), ref.biharmonic(model, x)[:, 0]) <= 1e-9
    sigma = torch.randn(3, 2, generator=torch.Generator().manual_seed(2)).double()
    wl, delta = compile_fresh_process(
        model, "weighted_laplacian", x, sigma=sigma, collapsed=False
    )
    assert delta["fingerprint_hits"] == 1
    want = ref.weighted_laplacian(model, x, sigma)[:, 0]
    assert relative_error(wl(x), want) <= 1e-10


class _EnvironmentScaled(torch.nn.Module):
    """Reads state the fingerprint cannot see (an environment variable)."""

    def __init__(self):
        super().__init__()
        self.net = mlp(3, "tanh", hidden=6, seed=9)

    def forward(self, x):
        return self.net(x) * float(os.environ["TAYLOR_MLIR_TEST_SCALE"])


def test_a_hit_in_memory_is_validated_and_unpickling_hits(cache_dir, monkeypatch):
    x = inputs(4, 3)
    model = _EnvironmentScaled()
    monkeypatch.setenv("TAYLOR_MLIR_TEST_SCALE", "2.0")
    first, _ = compile_fresh_process(model, "laplacian", x)
    # The same process, the artifact in memory: the fingerprint names it,
    # the self-check refuses it.
    monkeypatch.setenv("TAYLOR_MLIR_TEST_SCALE", "3.0")
    before = tm.compile_cache_info()
    lap = tm.compile(model, op="laplacian", example_inputs=x)
    delta = info_delta(before, tm.compile_cache_info())
    assert delta["disk_rejected"] == 1 and delta["fingerprint_hits"] == 0
    assert lap.artifact is not first.artifact
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-10
    # Unpickling compiles again: from the disk cache.
    tm.clear_compile_cache(disk=False)
    before = tm.compile_cache_info()
    copy_of = pickle.loads(pickle.dumps(lap))
    assert info_delta(before, tm.compile_cache_info())["fingerprint_hits"] == 1
    copied = copy_of._module
    assert relative_error(copy_of(x), ref.laplacian(copied, x)[:, 0]) <= 1e-10
    # An operator compiled without the cache stays without it when unpickled.
    uncached = tm.compile(model, op="laplacian", example_inputs=x, cache=False)
    tm.clear_compile_cache(disk=False)
    before = tm.compile_cache_info()
    pickle.loads(pickle.dumps(uncached))
    delta = info_delta(before, tm.compile_cache_info())
    assert delta["fingerprint_hits"] == 0 and delta["disk_hits"] == 0


def test_without_the_self_check_only_the_import_is_reused(cache_dir, monkeypatch):
    # An unvalidated fingerprint is never trusted: export, then the import
    # from disk.
    x = inputs(4, 3)
    model = mlp(3, "tanh", hidden=5, seed=6)
    compile_fresh_process(model, "laplacian", x, check=False)
    lap, delta = compile_fresh_process(model, "laplacian", x, check=False)
    assert delta["fingerprint_hits"] == 0 and delta["disk_hits"] == 1
    assert lap.artifact.origin == "disk: exported graph"
    assert EXPORT in lap.artifact.timings and IMPORT not in lap.artifact.timings
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-10
    # The same with the fingerprint lookup off, and the self-check on.
    monkeypatch.setattr(compile_cache, "FINGERPRINT", False)
    lap, delta = compile_fresh_process(model, "laplacian", x)
    assert delta["fingerprint_hits"] == 0 and delta["disk_hits"] == 1
    assert EXPORT in lap.artifact.timings and "self-check" in lap.artifact.timings
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-10


def _garble(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00garbage" * 10)
    elif how == "flipped byte":
        path.write_bytes(data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:])
    else:  # a well-formed entry, checksum included, of the wrong payload
        key = path.name.removeprefix("import-").removesuffix(".entry")
        path.write_bytes(compile_cache._encode([1, 2, 3], "import", key))


def test_a_corrupt_entry_is_rebuilt(cache_dir):
    x = inputs(4, 3)
    model = mlp(3, "tanh", hidden=4, seed=7)
    compile_fresh_process(model, "laplacian", x)
    want = ref.laplacian(model, x)[:, 0]
    for how in ["truncated", "garbage", "flipped byte", "replaced"]:
        (imported,) = cache_dir.glob("import-*.entry")
        _garble(imported, how)
        lap, delta = compile_fresh_process(model, "laplacian", x)
        assert delta["disk_corrupt"] == 1 and delta["fingerprint_hits"] == 0, how
        assert IMPORT in lap.artifact.timings, how
        assert relative_error(lap(x), want) <= 1e-10, how
    (fingerprint,) = cache_dir.glob("fingerprint-*.entry")
    _garble(fingerprint, "garbage")
    lap, delta = compile_fresh_process(model, "laplacian", x)
    assert delta["disk_corrupt"] == 1 and delta["fingerprint_hits"] == 0
    assert delta["disk_hits"] == 1  # found by the exported graph instead
    assert relative_error(lap(x), want) <= 1e-10
    # Both rewritten: the next compile hits again.
    _, delta = compile_fresh_process(model, "laplacian", x)
    assert delta["fingerprint_hits"] == 1 and delta["disk_corrupt"] == 0


@pytest.mark.parametrize("switch", ["argument", "environment", "module"])
def test_a_disabled_cache_writes_and_reads_nothing(cache_dir, switch, monkeypatch):
    x = inputs(4, 3)
    model = mlp(3, "tanh", hidden=4, seed=8)
    kwargs = {}
    if switch == "argument":
        kwargs["cache"] = False
    elif switch == "environment":
        monkeypatch.setenv("TAYLOR_MLIR_CACHE", "0")
    else:
        monkeypatch.setattr(compile_cache, "DISK_CACHE", False)
    lap, delta = compile_fresh_process(model, "laplacian", x, **kwargs)
    assert not cache_dir.exists() or not list(cache_dir.iterdir())
    assert delta["disk_writes"] == 0 and delta["disk_misses"] == 0
    assert relative_error(lap(x), ref.laplacian(model, x)[:, 0]) <= 1e-10
    if switch != "argument":
        return
    # Nor does it read an entry that exists.
    compile_fresh_process(model, "laplacian", x, cache=True)
    assert entries(cache_dir)
    lap, delta = compile_fresh_process(model, "laplacian", x, **kwargs)
    assert delta["disk_hits"] == 0 and IMPORT in lap.artifact.timings


def test_clear_and_size_bound(cache_dir, monkeypatch):
    keys = [f"{i:064x}" for i in range(6)]
    for i, key in enumerate(keys):
        compile_cache.store("import", key, {"text": "x" * 4000, "i": i})
        os.utime(compile_cache._path("import", key), (1e9 + i, 1e9 + i))
    assert len(entries(cache_dir)) == 6
    assert compile_cache.load("import", keys[2])["i"] == 2  # now the most recent
    size = entries(cache_dir)[0].stat().st_size
    monkeypatch.setattr(compile_cache, "MAX_DISK_BYTES", 3 * size)
    compile_cache.prune()
    assert len(entries(cache_dir)) == 3
    assert [compile_cache.exists("import", key) for key in keys] == [
        False,
        False,
        True,
        False,
        True,
        True,
    ]
    info = tm.compile_cache_info()
    assert info["disk_entries"] == 3 and info["disk_dir"] == str(cache_dir)
    tm.clear_compile_cache(disk=False)
    assert len(entries(cache_dir)) == 3
    tm.clear_compile_cache()
    assert entries(cache_dir) == []


# -- the fingerprint -----------------------------------------------------------

THRESHOLD = 1.0


def _clipped(x):
    return torch.clamp(x, max=THRESHOLD)


class _Clipping(torch.nn.Module):
    def __init__(self, scale=2.0):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)
        self.scale = scale

    def forward(self, x):
        return _clipped(self.linear(x)) * self.scale


def _fingerprint(model, x=None, dynamic_batch=False):
    from taylor_mlir._export import as_module
    from taylor_mlir._fingerprint import fingerprint

    x = inputs(4, 3) if x is None else x
    return fingerprint(as_module(model), x, dynamic_batch)


def test_the_fingerprint_sees_what_the_export_depends_on(monkeypatch):
    torch.manual_seed(0)
    base = _fingerprint(_Clipping())
    assert base is not None and _fingerprint(_Clipping()) == base  # other weights
    monkeypatch.setattr(sys.modules[__name__], "THRESHOLD", 2.0)
    assert _fingerprint(_Clipping()) != base  # a global a helper reads
    monkeypatch.undo()
    assert _fingerprint(_Clipping()) == base
    assert _fingerprint(_Clipping(scale=3.0)) != base  # an attribute
    assert _fingerprint(_Clipping().train(False)) != base  # the training flag
    hooked = _Clipping()
    hooked.register_forward_hook(lambda module, args, out: out * 2)
    assert _fingerprint(hooked) != base
    wider = _Clipping()
    wider.linear = torch.nn.Linear(3, 2)
    assert _fingerprint(wider) != base  # parameter shapes
    assert _fingerprint(_Clipping(), inputs(5, 3)) != base  # batch size
    assert _fingerprint(_Clipping(), inputs(4, 3).float()) != base  # dtype
    dynamic = _fingerprint(_Clipping(), inputs(4, 3), dynamic_batch=True)
    assert dynamic != base
    assert _fingerprint(_Clipping(), inputs(7, 3), dynamic_batch=True) == dynamic
    # A function model: its source, closure and the modules it reads.
    linear = torch.nn.Linear(3, 1)

    def model(x, factor=2.0):
        return (lambda y: y * factor)(linear(x))

    assert _fingerprint(model) == _fingerprint(model)
    linear.weight = torch.nn.Parameter(torch.zeros(2, 3))
    assert _fingerprint(model) != _fingerprint(lambda x: linear(x))


_WRITER = """
import sys
from taylor_mlir import compile_cache
worker, key = int(sys.argv[1]), "0" * 64
for i in range(200):
    compile_cache.store("import", key, {"text": str(worker) * (1000 + 37 * i)})
    entry = compile_cache.load("import", key)
    assert entry is None or set(entry["text"]) <= set("0123"), entry
print(compile_cache.compile_cache_info()["disk_corrupt"])
"""


def test_processes_writing_the_same_entry_at_once(cache_dir):
    env = {**os.environ, "TAYLOR_MLIR_CACHE_DIR": str(cache_dir)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(worker)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for worker in range(4)
    ]
    outputs = [w.communicate(timeout=120)[0] for w in writers]
    assert [w.returncode for w in writers] == [0] * 4
    assert [int(out) for out in outputs] == [0] * 4  # never a partial entry
    (entry,) = entries(cache_dir)
    assert set(compile_cache.load("import", "0" * 64)["text"]) <= set("0123")
    assert not list(cache_dir.glob(".tmp-*"))
