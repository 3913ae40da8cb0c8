# RUN: %python %s | FileCheck %s
"""The upstream binding layers of taylor_mlir, used directly: parse, run the
registered taylor-cpu-codegen pipeline (by its alias taylor-to-llvm) through the PassManager, JIT with the
ExecutionEngine and call through the C interface on numpy arrays."""

import ctypes

import numpy as np

from taylor_mlir import ir, passmanager
from taylor_mlir import _native
from taylor_mlir.execution_engine import ExecutionEngine
from taylor_mlir.runtime import get_ranked_memref_descriptor
from taylor_mlir.tools import runtime_library

SOURCE = """
func.func @scale_tanh(%x: tensor<2x3xf64>, %out: tensor<2x3xf64>) -> tensor<2x3xf64>
    attributes {llvm.emit_c_interface} {
  %two = arith.constant 2.0 : f64
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf64>) outs(%out : tensor<2x3xf64>) {
  ^bb0(%in: f64, %o: f64):
    %m = arith.mulf %in, %two : f64
    %t = math.tanh %m : f64
    linalg.yield %t : f64
  } -> tensor<2x3xf64>
  return %r : tensor<2x3xf64>
}
"""

with ir.Context():
    module = ir.Module.parse(SOURCE)
    pm = passmanager.PassManager.parse("builtin.module(taylor-to-llvm)")
    pm.run(module.operation)
    # CHECK: llvm.func @_mlir_ciface_scale_tanh
    print(
        next(
            op.operation.name + " @" + ir.StringAttr(op.attributes["sym_name"]).value
            for op in module.body.operations
            if ir.StringAttr(op.attributes["sym_name"]).value.startswith("_mlir_ciface")
        )
    )
    engine = ExecutionEngine(
        module,
        opt_level=2,
        # Allocations go to the runtime's pool (MLIR's generic allocation
        # functions, defined in libTaylorRuntime).
        shared_libs=[runtime_library("mlir_c_runner_utils"), _native.LIBRARY],
    )
    x = np.arange(6, dtype=np.float64).reshape(2, 3) / 6
    out_arg = np.zeros((2, 3))
    result = np.zeros((2, 3))  # the out-parameter added by the pipeline
    args = [
        ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(a)))
        for a in (x, out_arg, result)
    ]
    engine.invoke("scale_tanh", *args)
    # CHECK: matches numpy: True
    print("matches numpy:", np.allclose(result, np.tanh(2 * x), rtol=1e-15, atol=1e-15))
