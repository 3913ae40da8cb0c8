"""Shared set-up of the compile tests: the disk compile cache
(`taylor_mlir.compile_cache`) is off, and points at a temporary directory
(for the whole session and the processes the tests start), never at
~/.cache. Off, so that every test compiles what it compiles whatever ran
before it (a test about the import process needs an import to happen);
test_disk_cache.py turns it on, in a directory per test."""

import os
import shutil
import tempfile

_CACHE_DIR = tempfile.mkdtemp(prefix="taylor_mlir_test_cache_")
os.environ["TAYLOR_MLIR_CACHE_DIR"] = _CACHE_DIR
os.environ["TAYLOR_MLIR_CACHE"] = "0"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _split_small_models(monkeypatch):
    """The tests' models are small: a call would compute their batches in
    one piece (`threads.MIN_PART_BYTES`). Parts of every size keep the
    parallel path (several parts, native threads, nested calls) exercised;
    test_threads.py checks the default policy itself."""
    from taylor_mlir import threads

    monkeypatch.setattr(threads, "MIN_PART_BYTES", 0)
