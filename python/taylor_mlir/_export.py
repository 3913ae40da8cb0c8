"""Export for `taylor_mlir.compile`: the model as a module whose parameters
and buffers are inputs of the exported program (so that they are runtime
inputs of the compiled code), checks of what was exported, and a digest of
the program for the compile cache."""

from __future__ import annotations

import hashlib
import inspect
import threading
import warnings
from collections.abc import Callable, Sequence

import torch
from torch.fx.proxy import _register_stack_trace_anchor

#: Held while ``torch.export`` traces a user's module: tracing calls the
#: module with its parameters and buffers swapped for fake tensors
#: (``functional_call``, ``_reparametrize_module``), so a call of a compiled
#: operator on another thread reading them then (`named_tensors`) would get
#: the fakes. Every export takes it (torch.export is not thread-safe
#: either), as do the import's re-trace and ``torch.export.save``
#: (`taylor_mlir.torch_import`), and every read of a module's tensors for a
#: call.
#: Reentrant; nothing else is ever acquired while it is held by a reader.
TRACE_LOCK = threading.RLock()

#: Substrings of aten ops that draw random numbers.
_RANDOM_OPS = ("dropout", "bernoulli", "rand", "normal", "multinomial")


class _FunctionModule(torch.nn.Module):
    """A function as a module, with the modules it refers to as submodules
    (so that their parameters and buffers can be replaced at export)."""

    def __init__(self, function: Callable, modules: dict[str, torch.nn.Module]):
        super().__init__()
        object.__setattr__(self, "_function", function)
        for name, module in modules.items():
            self.add_module(name, module)

    def forward(self, x):
        return self._function(x)


def as_module(model: Callable) -> torch.nn.Module:
    """``model`` as a module whose parameters and buffers are all those the
    model reads: a module itself; a bound method of a module; or a function
    with the modules it refers to (closure variables and globals)."""
    if isinstance(model, torch.nn.Module):
        return model
    # torch.export keeps the frames of `forward` methods only: the function's
    # own frame then names the source line of each op in error messages.
    if inspect.isfunction(model) or inspect.ismethod(model):
        _register_stack_trace_anchor(getattr(model, "__func__", model))
    modules: dict[str, torch.nn.Module] = {}
    if inspect.ismethod(model) and isinstance(model.__self__, torch.nn.Module):
        modules["self"] = model.__self__
    elif inspect.isfunction(model):
        variables = inspect.getclosurevars(model)
        for name, value in {**variables.globals, **variables.nonlocals}.items():
            if isinstance(value, torch.nn.Module):
                modules[name] = value
    return _FunctionModule(model, modules)


def named_tensors(module: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The parameters, then the buffers, of ``module`` (never the fake
    tensors an export on another thread swaps in: see `TRACE_LOCK`)."""
    with TRACE_LOCK:
        return list(module.named_parameters()) + list(module.named_buffers())


def as_input(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A parameter or buffer as an argument: floating-point tensors in the
    operator's dtype (integer ones as they are), detached and contiguous
    (compiled code takes C-contiguous arrays)."""
    tensor = tensor.detach()
    tensor = tensor.to(dtype) if tensor.is_floating_point() else tensor
    return tensor.contiguous()


class _Functional(torch.nn.Module):
    """``forward(x, *tensors)``: the module with its parameters and buffers
    replaced by ``tensors`` (``torch.func.functional_call``)."""

    def __init__(self, module: torch.nn.Module, names: Sequence[str]):
        super().__init__()
        # Not registered as a submodule: its tensors must not be lifted.
        object.__setattr__(self, "_module", module)
        self._names = tuple(names)

    def forward(self, x, *tensors):
        return torch.func.functional_call(
            self._module, dict(zip(self._names, tensors)), (x,), strict=True
        )


def export(
    module: torch.nn.Module, example: torch.Tensor, dynamic_batch: bool
) -> torch.export.ExportedProgram:
    """``torch.export`` of ``module`` as ``f(x, *parameters, *buffers)``."""
    with TRACE_LOCK:
        return _export(module, example, dynamic_batch)


def _export(
    module: torch.nn.Module, example: torch.Tensor, dynamic_batch: bool
) -> torch.export.ExportedProgram:
    tensors = named_tensors(module)
    values = [as_input(t, example.dtype) for _, t in tensors]
    dynamic_shapes = None
    if dynamic_batch:
        if example.shape[0] < 2:  # torch.export specializes sizes 0 and 1
            example = torch.zeros((2, example.shape[1]), dtype=example.dtype)
        dynamic_shapes = (
            {0: torch.export.Dim("batch", min=1)},
            tuple(None for _ in values),
        )
    with torch.no_grad():
        return torch.export.export(
            _Functional(module, [name for name, _ in tensors]),
            (example.detach(), *values),
            dynamic_shapes=dynamic_shapes,
        )


def check_program(
    program: torch.export.ExportedProgram, module: torch.nn.Module
) -> tuple[int, ...]:
    """Checks that the exported model maps ``[B, D]`` to one ``[B]`` or
    ``[B, m]`` tensor without updating buffers; returns the output's shape
    after the batch dimension. Warns if it draws random numbers."""
    batch_norms = [
        name
        for name, m in module.named_modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training
    ]
    if batch_norms:
        raise ValueError(
            f"batch normalization in training mode ({', '.join(batch_norms)}) "
            "normalizes with the statistics of the batch, so each datum's output "
            "depends on the others (and updates the running statistics); call "
            "model.eval() before compiling"
        )
    signature = program.graph_signature
    mutated = {
        **signature.buffers_to_mutate,
        **getattr(signature, "user_inputs_to_mutate", {}),
    }
    if mutated:
        names = ", ".join(sorted(set(mutated.values())))
        raise ValueError(
            f"the model updates tensors ({names}) when called; compiled "
            "operators must not have side effects (call model.eval()?)"
        )
    outputs = list(program.graph.output_node().args[0])
    if len(outputs) != 1:
        raise ValueError(f"the model must return one tensor, it returns {len(outputs)}")
    inputs = [n for n in program.graph.nodes if n.op == "placeholder"]
    x = next(n for n in inputs if n.name == signature.user_inputs[0])
    value, x_value = outputs[0].meta.get("val"), x.meta["val"]
    if (
        not isinstance(value, torch.Tensor)
        or value.ndim not in (1, 2)
        or str(value.shape[0]) != str(x_value.shape[0])
        or not all(isinstance(d, int) for d in value.shape[1:])
    ):
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else value
        raise ValueError(
            "the model must map [B, D] to [B], [B, 1] or [B, m]; for input shape "
            f"{tuple(x_value.shape)} it returns {shape}"
        )
    if value.dtype != x_value.dtype:
        raise ValueError(
            f"the model returns {value.dtype} for {x_value.dtype} inputs; the "
            "compiled operator computes in the dtype of example_inputs: compile "
            f"with {value.dtype} inputs, or return {x_value.dtype} (cast inside "
            "the model)"
        )
    random = random_ops(program)
    if random:
        training = " (it is in training mode)" if module.training else ""
        warnings.warn(
            f"the model draws random numbers ({', '.join(random)}){training}: the "
            "compiled operator will be random too; call model.eval() before "
            "compiling for a deterministic one",
            stacklevel=4,
        )
    return tuple(int(d) for d in value.shape[1:])


def random_ops(program: torch.export.ExportedProgram) -> list[str]:
    """The aten ops of ``program`` that draw random numbers."""
    return sorted(
        {
            str(n.target)
            for n in program.graph.nodes
            if n.op == "call_function" and any(r in str(n.target) for r in _RANDOM_OPS)
        }
    )


def program_key(program: torch.export.ExportedProgram) -> str:
    """A digest of everything in an ExportedProgram that torch-mlir's output
    depends on (the graph, its signature, shapes, constant tensors' values)."""
    digest = hashlib.sha256()
    digest.update(program.graph_module.code.encode())
    digest.update(str(program.graph_signature).encode())
    for node in program.graph.nodes:
        value = node.meta.get("val")
        if value is not None:
            digest.update(f"{node.name}:{value}".encode())
    for name, value in sorted(program.constants.items()):
        digest.update(name.encode())
        if isinstance(value, torch.Tensor):
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


__all__: list[str] = []  # internal to taylor_mlir.compile
