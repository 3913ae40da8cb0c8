"""Shared set-up of the compile tests: the disk compile cache
(`taylor_mlir.compile_cache`) lives in a temporary directory for the whole
session (and for the processes the tests start), never in ~/.cache."""

import os
import shutil
import tempfile

_CACHE_DIR = tempfile.mkdtemp(prefix="taylor_mlir_test_cache_")
os.environ["TAYLOR_MLIR_CACHE_DIR"] = _CACHE_DIR


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
