"""The benchmark scripts run (quick configurations), so they do not rot."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]


def test_gemm_throughput_quick(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gemm_throughput.py"),
            "--quick",
            "--repeats",
            "1",
            "--out-dir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    rows = json.loads((tmp_path / "gemm_throughput_quick.json").read_text())
    assert {r["type"] for r in rows} == {"f64", "f32"}
    for row in rows:
        for method in ("loops", "ours 1t", "ours 2t", "torch 1t", "torch 2t"):
            assert row[method] > 0


def test_training_step_quick(tmp_path):
    """benchmarks/training_step.py --quick: taylor-mlir's and torch.func's
    training steps (small MLP, B = 8), gradients agreeing, the profile and
    the report written."""
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "training_step.py"),
            "--quick",
            "--out-dir",
            str(tmp_path),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads((tmp_path / "training_step_quick.json").read_text())
    steps = {
        (m["operator"], m["method"]): m
        for m in report["measurements"]
        if m["method"] != "profile"
    }
    assert set(steps) == {
        (op, method)
        for op in ("laplacian", "biharmonic")
        for method in ("ours_collapsed", "torch_func")
    }
    for m in steps.values():
        assert m["status"] == "ok", m.get("reason")
        assert m["median_s"] > 0 and m["gflops"] > 0
        assert m["grad_rel_error"] < 1e-10
    (profile,) = [m for m in report["measurements"] if m["method"] == "profile"]
    assert profile["status"] == "ok", profile.get("reason")
    assert profile["forward"]["blas_flop"] > 0 and profile["backward"]["blas_flop"] > 0
    assert {row["verdict"] for row in report["targets"]} <= {"PASS", "MISS", "n/a"}
    assert "## Where taylor-mlir's step goes" in (
        tmp_path / "training_step_quick.md"
    ).read_text()
