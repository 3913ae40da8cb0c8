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
