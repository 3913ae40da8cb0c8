"""Taylor-mode transform from Python: `taylor-jet`, lowering, JIT, calls.

Example::

    from taylor_mlir.taylor_mode import TaylorJet
    jet = TaylorJet(mlir_text, order=2, directions=3, input_coefficients=[1])
    f0, f1, f2 = jet(x0, x1)      # x1: [R, *x0.shape]; f_k: [R, *f0.shape]

`f_K` is then the K-th directional derivative along each of the R directions
`x1[r]`. The higher input coefficients not listed in `input_coefficients`
are zero and cost nothing.

With `sum_top=True, collapse=True`, `taylor-collapse` runs after `taylor-jet`
(collapsed Taylor mode): the top coefficient, summed over the directions, is
carried once instead of per direction::

    lap = TaylorJet(mlir_text, order=2, directions=D, input_coefficients=[1],
                    sum_top=True, collapse=True)
    f0, f1, laplacian = lap(x0, eye)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ir
from . import _pipelines
from .jit import JitModule


def broadcast_directions(directions: Any, batch: int) -> Any:
    """The input coefficient ``x_1`` for R directions of the D input features
    (``[R, D]``) at each of ``batch`` data: a contiguous ``[R, batch, D]``
    array (torch tensor in, torch tensor out; numpy otherwise)."""
    if type(directions).__module__.startswith("torch"):
        r, d = directions.shape
        return directions[:, None, :].expand(r, batch, d).contiguous()
    directions = np.asarray(directions)
    r, d = directions.shape
    return np.ascontiguousarray(np.broadcast_to(directions[:, None, :], (r, batch, d)))


def taylor_jet_pipeline(
    *,
    order: int,
    directions: int,
    function: str | None = None,
    argument: int = 0,
    input_coefficients: Sequence[int] | None = None,
    jet_function: str | None = None,
    sum_top: bool = False,
    weights: Sequence[float] | None = None,
    runtime_weights: bool = False,
) -> _pipelines.Step:
    """The `taylor-jets` step (a pipeline registered in C++) that runs
    `taylor-jet` once with these options: its jet function is
    ``jet_function`` (default ``<function>_jet``)."""
    if jet_function is None:
        if not function:
            raise ValueError("name the function (or the jet function)")
        jet_function = f"{function}_jet"
    return _pipelines.step(
        "taylor-jets",
        function=function or None,
        argument=argument,
        jet_functions=[jet_function],
        orders=[order],
        directions=[directions],
        input_coefficients=[list(input_coefficients)] if input_coefficients else None,
        sum_top=[sum_top],
        weights=[[float(w) for w in weights]] if weights is not None else None,
        runtime_weights=[runtime_weights],
    )


class TaylorJet:
    """A function transformed by `taylor-jet`, lowered and JIT-compiled.

    Args:
      module: MLIR text (linalg on tensors, e.g. from torch-mlir) or a module.
      order: Taylor order K.
      directions: number of input directions R.
      function: the function to transform (default: the module's only one).
      argument: index of the differentiated argument; the others are passive.
      input_coefficients: orders k of the input coefficients passed at call
        time (default: all of 1..K); the others are zero.
      sum_top: return the top coefficient summed over the directions,
        Σ_r w_r f_K^(r), instead of per direction.
      weights: compile-time weights w_r of that sum (default: ones).
      runtime_weights: take the weights as an argument after the x_k.
      collapse: run `taylor-collapse` (needs `sum_top`): collapsed Taylor mode.
      track_allocations: count the heap memory of the compiled code
        (`self.allocations`, a `jit.BufferPool` of its own).

    Attributes:
      jet_ir: the module after `taylor-jet` (jets and `taylor.propagate`).
      collapsed_ir: the module after `taylor-collapse` (None without it).
      lowered_ir: the module after `taylor-lower` (linalg on tensors).
      pipeline: the named pipelines run (`taylor_mlir._pipelines.Pipeline`).
    """

    def __init__(
        self,
        module: str | ir.Module,
        *,
        order: int,
        directions: int,
        function: str | None = None,
        argument: int = 0,
        input_coefficients: Sequence[int] | None = None,
        sum_top: bool = False,
        weights: Sequence[float] | None = None,
        runtime_weights: bool = False,
        collapse: bool = False,
        track_allocations: bool = False,
        context: ir.Context | None = None,
    ):
        if collapse and not sum_top:
            raise ValueError(
                "collapse=True needs sum_top=True: taylor-collapse pushes the sum "
                "over directions of the top coefficient toward the inputs"
            )
        self.order = order
        self.directions = directions
        self.input_coefficients = (
            sorted(input_coefficients)
            if input_coefficients
            else list(range(1, order + 1))
        )
        self.context = context or ir.Context()
        with self.context:
            if isinstance(module, str):
                module = ir.Module.parse(module)
            else:
                module = ir.Module.parse(str(module))
            names = [
                ir.StringAttr(op.attributes["sym_name"]).value
                for op in module.body.operations
                if op.operation.name == "func.func" and len(op.regions[0].blocks)
            ]
            self.function = function or (names[0] if len(names) == 1 else None)
            if self.function is None:
                raise ValueError(
                    f"name the function to transform; the module has {names}"
                )
            self.jet_function = f"{self.function}_jet"
            jets = taylor_jet_pipeline(
                order=order,
                directions=directions,
                function=self.function,
                argument=argument,
                input_coefficients=input_coefficients,
                jet_function=self.jet_function,
                sum_top=sum_top,
                weights=weights,
                runtime_weights=runtime_weights,
            )
            steps = _pipelines.run(module, jets, stage="taylor-jet")
            self._drop_other_functions(module)
            self.jet_ir = str(module)
            self.collapsed_ir = None
            if collapse:
                steps += _pipelines.run(
                    module, "taylor-collapse-jets", stage="taylor-collapse"
                )
                self.collapsed_ir = str(module)
            steps += _pipelines.run(module, "taylor-lower-jets", stage="taylor-lower")
            self.lowered_ir = str(module)
            codegen = _pipelines.default_codegen()
            self._jit = JitModule(
                module, pipeline=codegen, track_allocations=track_allocations
            )
            #: The named pipelines run (`_pipelines.Pipeline`; ``str()`` is the
            #: textual pipeline, ``.command()`` the ``taylor-opt`` command),
            #: the JIT's codegen included. Between the first two, every
            #: function but the jet function is erased.
            self.pipeline = steps + codegen

    def _drop_other_functions(self, module: ir.Module) -> None:
        """Erases every function but the jet function and those it calls
        (the jet copies of callees, `taylor-jet` through ``func.call``),
        which become private."""
        functions = {
            ir.StringAttr(op.attributes["sym_name"]).value: op
            for op in module.body.operations
            if op.operation.name == "func.func"
        }
        keep, pending = set(), [self.jet_function]
        while pending:
            name = pending.pop()
            if name in keep or name not in functions:
                continue
            keep.add(name)

            def callees(op, found=pending):
                if op.name == "func.call":
                    found.append(ir.FlatSymbolRefAttr(op.attributes["callee"]).value)
                return ir.WalkResult.ADVANCE

            functions[name].operation.walk(callees)
        for name, op in functions.items():
            if name not in keep:
                op.operation.erase()
            elif name != self.jet_function:
                op.attributes["sym_visibility"] = ir.StringAttr.get("private")

    @property
    def allocations(self):
        """The `jit.BufferPool` (with `track_allocations`), else None."""
        return self._jit.allocations

    def __call__(self, *args: Any) -> list[Any]:
        """Runs the jet function: `x_0`, the listed `x_k`, the weights (with
        `runtime_weights`), then the passive arguments. Returns
        `[f_0, f_1, ..., f_K]` for each floating-point tensor result,
        concatenated (with `sum_top`, `f_K` is summed over directions)."""
        return self._jit.call(self.jet_function, *args)


__all__ = ["TaylorJet", "broadcast_directions", "taylor_jet_pipeline"]
