"""Linear algebra on batches of small matrices, routed to the taylor dialect.

torch-mlir cannot import ``torch.linalg.inv``, ``solve`` or ``cholesky``
(their exported graphs call ``_linalg_check_errors`` through
``with_effects``), and it imports ``det``/``slogdet`` as LU loops with ``cf``
control flow that has no Taylor rule. This module routes them to the
``taylor.matrix_inverse``, ``taylor.solve``, ``taylor.slogdet`` and
``taylor.cholesky`` ops (``include/Taylor/IR/TaylorMatrixOps.td``), whose
Taylor-mode and adjoint rules are matrix-series recurrences
(``docs/linalg.md``):

1. parent process (`DECOMPOSITIONS`, run by `taylor_mlir._decompositions`
   with its own table): the aten ops are decomposed, at the FX level, into
   the custom torch ops ``torch.ops.taylor.*`` defined here
   (``det = sign · exp(logabsdet)``, ``logdet``, ``upper=True``, ...);
2. import process (`export_and_import`): torch-mlir imports each custom op
   as a ``torch.operator``; it is replaced by a ``func.call`` of a private
   declaration, which torch-mlir's backend pipeline carries through its type
   conversion to builtin tensors, and after the pipeline each call becomes
   the taylor op (`calls_to_ops`), printed in generic form (the pipeline's
   last step, the linalg-on-tensors contract check, is skipped: the worker's
   dialect check and the parent's parse in the taylor_mlir context verify
   every op instead).

Standalone: imports only ``torch`` (and ``torch_mlir`` in the import
process), so that the import worker, which must never import
``taylor_mlir``, can load it by path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

aten = torch.ops.aten

#: The custom ops' namespace, also the dialect of the ops they become.
NAMESPACE = "taylor"

#: Custom op name -> (schema, eager implementation, fake implementation).
_OPS: dict[str, tuple[str, Callable, Callable]] = {
    "matrix_inverse": (
        "matrix_inverse(Tensor input) -> Tensor",
        torch.linalg.inv,
        lambda a: torch.empty_like(a),
    ),
    "slogdet": (
        "slogdet(Tensor input) -> (Tensor sign, Tensor logabsdet)",
        lambda a: tuple(torch.linalg.slogdet(a)),
        lambda a: (a.new_empty(a.shape[:-2]), a.new_empty(a.shape[:-2])),
    ),
    "solve": (
        "solve(Tensor matrix, Tensor rhs) -> Tensor",
        torch.linalg.solve,
        lambda a, b: torch.empty_like(b),
    ),
    "cholesky": (
        "cholesky(Tensor input) -> Tensor",
        torch.linalg.cholesky,
        lambda a: torch.empty_like(a),
    ),
}


def _define_ops() -> None:
    """Defines ``torch.ops.taylor.<name>`` for every entry of `_OPS` (once per
    process)."""
    global _LIBRARY
    if "_LIBRARY" in globals():
        return
    try:
        torch.ops.taylor.matrix_inverse.default
        return  # defined by another copy of this module (loaded by path)
    except (AttributeError, RuntimeError):
        pass
    _LIBRARY = torch.library.Library(NAMESPACE, "DEF")
    for name, (schema, eager, fake) in _OPS.items():
        _LIBRARY.define(schema)
        _LIBRARY.impl(name, eager, "CompositeExplicitAutograd")
        torch.library.register_fake(f"{NAMESPACE}::{name}", fake, lib=_LIBRARY)


_define_ops()
_taylor = torch.ops.taylor


def _inverse(a: torch.Tensor) -> torch.Tensor:
    return _taylor.matrix_inverse(a)


def _slogdet(a: torch.Tensor):
    return _taylor.slogdet(a)


def _det(a: torch.Tensor) -> torch.Tensor:
    """``sign · exp(log |det|)``: 0 for a singular matrix (its derivatives
    there are NaN, see docs/linalg.md)."""
    sign, logabsdet = _taylor.slogdet(a)
    return sign * torch.exp(logabsdet)


def _logdet(a: torch.Tensor) -> torch.Tensor:
    """``log det A``: NaN for a negative determinant, -inf for a singular
    matrix, as ``torch.logdet``."""
    sign, logabsdet = _taylor.slogdet(a)
    return logabsdet + torch.log(sign)


def _solve(a: torch.Tensor, b: torch.Tensor, *, left: bool = True):
    """``A^-1 B`` (``B A^-1`` for ``left=False``, as ``(Aᵀ)^-1 Bᵀ``
    transposed); ``B`` of shape ``[..., n]`` is a batch of vectors (PyTorch
    accepts vectors only with ``left=True``). Batch dimensions are broadcast
    here: ``taylor.solve`` takes equal ones."""
    if not left:
        return _solve(a.mT, b.mT).mT
    vector = b.dim() == 1 or (b.dim() == a.dim() - 1 and b.shape == a.shape[:-1])
    rhs = b.unsqueeze(-1) if vector else b
    batch = torch.broadcast_shapes(a.shape[:-2], rhs.shape[:-2])
    a = a.expand(*batch, *a.shape[-2:])
    rhs = rhs.expand(*batch, *rhs.shape[-2:])
    x = _taylor.solve(a, rhs)
    return x.squeeze(-1) if vector else x


def _cholesky(a: torch.Tensor, upper: bool = False) -> torch.Tensor:
    factor = _taylor.cholesky(a)
    return factor.mT if upper else factor


#: aten op overload -> decomposition into the custom ops.
DECOMPOSITIONS: dict[Any, Callable] = {
    aten.linalg_inv.default: _inverse,
    aten.inverse.default: _inverse,
    aten.linalg_slogdet.default: _slogdet,
    aten.slogdet.default: _slogdet,
    aten.linalg_det.default: _det,
    aten.det.default: _det,
    aten.logdet.default: _logdet,
    aten.linalg_solve.default: _solve,
    aten.linalg_cholesky.default: _cholesky,
}


def call_targets(program: Any) -> set:
    """The targets of every call in ``program``'s graphs."""
    return {
        node.target
        for module in program.graph_module.modules()
        if isinstance(module, torch.fx.GraphModule)
        for node in module.graph.nodes
        if node.op == "call_function"
    }


def uses_custom_ops(program: Any) -> bool:
    """Whether ``program`` calls one of the ``torch.ops.taylor`` ops."""
    return any(
        getattr(target, "namespace", None) == NAMESPACE
        for target in call_targets(program)
    )


#: Attribute of the private declarations that names the op they stand for.
_OP_ATTRIBUTE = "taylor.op"


def _walk(operation, visit) -> None:
    for region in operation.regions:
        for block in region.blocks:
            for op in block.operations:
                visit(op.operation)
                _walk(op.operation, visit)


def _operators_to_calls(module) -> None:
    """Replaces each ``torch.operator "torch.taylor.<op>"`` by a ``func.call``
    of a private declaration marked with the op's name."""
    from torch_mlir import ir

    context = module.context
    operators = []
    _walk(
        module.operation,
        lambda op: (
            op.name == "torch.operator"
            and ir.StringAttr(op.attributes["name"]).value.startswith(
                f"torch.{NAMESPACE}."
            )
            and operators.append(op)
        ),
    )
    for index, op in enumerate(operators):
        name = ir.StringAttr(op.attributes["name"]).value.removeprefix("torch.")
        callee = f"__taylor_linalg_{index}"
        function_type = ir.FunctionType.get(
            [v.type for v in op.operands], [r.type for r in op.results], context
        )
        with ir.InsertionPoint.at_block_begin(module.body), op.location:
            ir.Operation.create(
                "func.func",
                attributes={
                    "sym_name": ir.StringAttr.get(callee, context),
                    "function_type": ir.TypeAttr.get(function_type),
                    "sym_visibility": ir.StringAttr.get("private", context),
                    _OP_ATTRIBUTE: ir.StringAttr.get(name, context),
                },
                regions=1,
            )
        with ir.InsertionPoint(op), op.location:
            call = ir.Operation.create(
                "func.call",
                results=[r.type for r in op.results],
                operands=list(op.operands),
                attributes={"callee": ir.FlatSymbolRefAttr.get(callee, context)},
            )
        for old, new in zip(op.results, call.results):
            old.replace_all_uses_with(new)
        op.erase()


def calls_to_ops(module) -> None:
    """Replaces each call of a marked declaration by the op it stands for
    (unregistered in torch-mlir's context, printed in generic form) and
    erases the declarations."""
    from torch_mlir import ir

    context = module.context
    context.allow_unregistered_dialects = True
    declarations = {}
    for op in module.body.operations:
        op = op.operation
        if op.name == "func.func" and _OP_ATTRIBUTE in op.attributes:
            symbol = ir.StringAttr(op.attributes["sym_name"]).value
            declarations[symbol] = op
    calls = []
    _walk(
        module.operation,
        lambda op: (
            op.name == "func.call"
            and ir.FlatSymbolRefAttr(op.attributes["callee"]).value in declarations
            and calls.append(op)
        ),
    )
    for call in calls:
        declaration = declarations[
            ir.FlatSymbolRefAttr(call.attributes["callee"]).value
        ]
        name = ir.StringAttr(declaration.attributes[_OP_ATTRIBUTE]).value
        with ir.InsertionPoint(call), call.location:
            new = ir.Operation.create(
                name,
                results=[r.type for r in call.results],
                operands=list(call.operands),
            )
        for old, replacement in zip(call.results, new.results):
            old.replace_all_uses_with(replacement)
        call.erase()
    for declaration in declarations.values():
        declaration.erase()


#: The last step of torch-mlir's linalg-on-tensors pipeline, which rejects
#: the calls; the taylor_mlir parse verifies the result instead.
_CONTRACT_CHECK = "torch-verify-linalg-on-tensors-backend-contract"


def export_and_import(program: Any, output_type: str, func_name: str):
    """``torch_mlir.fx.export_and_import`` for a program that calls the
    custom ops (import process only): linalg-on-tensors, with each custom op
    as a call of a private declaration; `calls_to_ops` then makes them the
    taylor ops of the same names (after the import worker's dialect check,
    which admits upstream dialects only)."""
    from torch_mlir import fx
    from torch_mlir.compiler_utils import run_pipeline_with_repro_report
    from torch_mlir.passmanager import PassManager

    if output_type != "linalg-on-tensors":
        raise ValueError(
            f"torch.linalg ops ({', '.join(_OPS)}) are imported only to "
            f"linalg-on-tensors, not {output_type!r}"
        )
    module = fx.export_and_import(program, output_type="raw", func_name=func_name)
    _operators_to_calls(module)
    run_pipeline_with_repro_report(
        module,
        "builtin.module(func.func(torch-match-quantized-custom-ops), "
        "torchdynamo-export-to-torch-backend-pipeline{ extra-library=})",
        "Lowering TorchFX IR -> Torch Backend IR",
    )
    with module.context:
        full = str(
            PassManager.parse(
                "builtin.module(torch-backend-to-linalg-on-tensors-backend-"
                "pipeline{allow-non-finites=True})"
            )
        )
    steps = full.replace("," + _CONTRACT_CHECK, "")
    if steps == full:
        raise RuntimeError(
            f"torch-mlir's linalg-on-tensors pipeline no longer ends with "
            f"{_CONTRACT_CHECK}: {full}"
        )
    run_pipeline_with_repro_report(
        module, steps, "Lowering Torch Backend IR -> Linalg-on-Tensors Backend IR"
    )
    return module


__all__: list[str] = []  # internal to taylor_mlir.torch_import
