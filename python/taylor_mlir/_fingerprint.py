"""A fingerprint of a model taken before exporting it, for the disk cache
(`taylor_mlir.compile_cache`): what ``torch.export`` of the model on an
example of a given shape and dtype depends on, as far as it can be seen
without tracing.

It holds, for every submodule: its class, the class's source (and its
user-defined base classes'), its plain attributes (numbers, strings,
tensors that are not parameters or buffers: by value), its hooks, its
training flag, and the names, shapes and dtypes of its parameters and
buffers (not their values: they are inputs of the compiled code). For the
functions this reaches (a function model, the methods of user classes,
hooks), their source and the values of the globals and closure variables
they read, recursively through user code. Code of torch, numpy,
taylor_mlir and the standard library is covered by the versions in the
cache's keys, not read.

What it cannot see (a global read through a module attribute, ``config.x``;
state behind an object's methods) is why a fingerprint hit is validated by
the self-check before it is used.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import inspect
import sys
import types
from typing import Any

import numpy as np
import torch

from ._export import TRACE_LOCK

#: Roots of modules whose code the versions in the key cover.
_LIBRARIES = frozenset({"torch", "numpy", "taylor_mlir", "functorch", "builtins"})

#: Attributes of torch.nn.Module read separately (or not part of the model).
_MODULE_SLOTS = frozenset({"_parameters", "_buffers", "_modules", "training"})

_MAX_DEPTH = 12


def _is_library(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    root = module.split(".")[0]
    return root in _LIBRARIES or root in sys.stdlib_module_names


def _code(code: types.CodeType) -> str:
    """A digest of compiled code (nested code objects included, without
    their addresses)."""
    digest = hashlib.sha256(code.co_code)
    digest.update(repr(code.co_names).encode())
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            digest.update(_code(constant).encode())
        else:
            digest.update(repr(constant).encode())
    return digest.hexdigest()


def _tensor(value: torch.Tensor) -> str:
    value = value.detach()
    digest = hashlib.sha256()
    try:
        data = value.cpu().contiguous()
        if data.dtype == torch.bfloat16:
            data = data.float()
        digest.update(data.numpy().tobytes())
    except Exception:  # a fake or meta tensor: no data
        return f"tensor({tuple(value.shape)}, {value.dtype}, no data)"
    return f"tensor({tuple(value.shape)}, {value.dtype}, {digest.hexdigest()})"


class _Fingerprint:
    def __init__(self) -> None:
        self._seen: dict[int, int] = {}
        self._alive: list[Any] = []  # so that no id is reused meanwhile

    def _once(self, obj: Any) -> str | None:
        """A back reference if ``obj`` was described already (cycles)."""
        if id(obj) in self._seen:
            return f"<ref {self._seen[id(obj)]}>"
        self._seen[id(obj)] = len(self._seen)
        self._alive.append(obj)
        return None

    def value(self, value: Any, depth: int = 0) -> str:
        if depth > _MAX_DEPTH:
            return f"<deep {type(value).__qualname__}>"
        if value is None or isinstance(value, (bool, int, float, complex, str)):
            return repr(value)
        if isinstance(value, bytes):
            return f"bytes:{hashlib.sha256(value).hexdigest()}"
        if isinstance(value, enum.Enum):
            return repr(value)
        if isinstance(value, (torch.dtype, torch.device, torch.Size, torch.layout)):
            return repr(value)
        if isinstance(value, torch.nn.Module):
            return self.module(value, depth + 1)
        if isinstance(value, torch.Tensor):
            return _tensor(value)
        if isinstance(value, np.ndarray):
            return f"ndarray({value.shape}, {value.dtype}, " + (
                hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest() + ")"
            )
        if isinstance(value, np.generic):
            return repr(value)
        if isinstance(value, (list, tuple)):
            items = ", ".join(self.value(v, depth + 1) for v in value)
            return f"{type(value).__name__}[{items}]"
        if isinstance(value, (set, frozenset)):
            return f"set[{', '.join(sorted(self.value(v, depth + 1) for v in value))}]"
        if isinstance(value, dict):
            items = sorted(
                f"{self.value(k, depth + 1)}: {self.value(v, depth + 1)}"
                for k, v in value.items()
            )
            return f"dict[{', '.join(items)}]"
        if isinstance(value, types.ModuleType):
            return f"<module {value.__name__}>"
        if isinstance(value, functools.partial):
            return (
                f"partial({self.value(value.func, depth + 1)}, "
                f"{self.value(value.args, depth + 1)}, "
                f"{self.value(value.keywords, depth + 1)})"
            )
        if inspect.ismethod(value):
            return (
                f"method({self.value(value.__func__, depth + 1)}, "
                f"{self.value(value.__self__, depth + 1)})"
            )
        if inspect.isfunction(value):
            return self.function(value, depth + 1)
        if inspect.isclass(value):
            return self.cls(value, depth + 1)
        if callable(value) and not hasattr(value, "__dict__"):
            # Builtins, ufuncs, torch ops, method descriptors.
            name = getattr(value, "__qualname__", getattr(value, "__name__", ""))
            return f"<callable {getattr(value, '__module__', '')}.{name}>"
        return self.instance(value, depth + 1)

    def instance(self, value: Any, depth: int) -> str:
        """Another object: its class, and its attributes."""
        ref = self._once(value)
        if ref:
            return ref
        kind = self.cls(type(value), depth)
        attributes = getattr(value, "__dict__", None)
        if attributes is None:
            return f"<{kind} {value!r}>" if _is_library(type(value)) else f"<{kind}>"
        return f"<{kind} {self.value(dict(attributes), depth)}>"

    def function(self, function: types.FunctionType, depth: int) -> str:
        name = f"{function.__module__}.{function.__qualname__}"
        if _is_library(function):
            return f"<function {name}>"
        ref = self._once(function)
        if ref:
            return ref
        try:
            source = inspect.getsource(function)
            line = function.__code__.co_firstlineno
        except (OSError, TypeError):  # no source (a lambda in a REPL, say)
            source, line = "no source", 0
        code = function.__code__
        try:
            variables = inspect.getclosurevars(function)
            read = {**variables.globals, **variables.nonlocals}
        except (TypeError, ValueError):
            read = {}
        described = {k: self.value(v, depth) for k, v in sorted(read.items())}
        defaults = self.value((function.__defaults__, function.__kwdefaults__), depth)
        return (
            f"<function {name} at {code.co_filename}:{line} {source!r} "
            f"code {_code(code)} reads {described} defaults {defaults}>"
        )

    def cls(self, cls: type, depth: int) -> str:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if _is_library(cls):
            return name
        ref = self._once(cls)
        if ref:
            return ref
        parts = [name]
        for base in cls.__mro__:
            if base is object or _is_library(base):
                continue
            try:
                parts.append(repr(inspect.getsource(base)))
            except (OSError, TypeError):
                parts.append(f"{base.__qualname__}: no source")
            for attribute, member in sorted(vars(base).items()):
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, property):
                    member = member.fget
                if inspect.isfunction(member):
                    parts.append(f"{attribute}={self.function(member, depth)}")
                elif not attribute.startswith("__"):
                    parts.append(f"{attribute}={self.value(member, depth)}")
        return f"<class {' '.join(parts)}>"

    def module(self, module: torch.nn.Module, depth: int) -> str:
        ref = self._once(module)
        if ref:
            return ref
        parts = [self.cls(type(module), depth), f"training={module.training}"]
        for name, tensor in [*module._parameters.items(), *module._buffers.items()]:
            if tensor is None:
                parts.append(f"{name}: None")
            else:
                parts.append(
                    f"{name}: {tuple(tensor.shape)} {tensor.dtype} "
                    f"grad={tensor.requires_grad}"
                )
        for name, value in sorted(vars(module).items()):
            if name in _MODULE_SLOTS:
                continue
            if isinstance(value, dict) and "hook" in name:
                value = list(value.values())  # handle ids differ between runs
            parts.append(f"{name}={self.value(value, depth)}")
        for name, child in module._modules.items():
            parts.append(
                f"{name}: " + ("None" if child is None else self.module(child, depth))
            )
        return "<module " + "; ".join(parts) + ">"


def fingerprint(
    module: torch.nn.Module, example: torch.Tensor, dynamic_batch: bool
) -> str | None:
    """A digest of everything an export of ``module`` on ``example`` can be
    seen to depend on (module docstring), or None if it cannot be taken."""
    try:
        # Not while an export on another thread has swapped fake tensors in.
        with TRACE_LOCK:
            described = _Fingerprint().value(module)
    except Exception:
        return None
    shape = ("batch", *example.shape[1:]) if dynamic_batch else tuple(example.shape)
    return hashlib.sha256(
        repr((described, shape, example.dtype, dynamic_batch)).encode()
    ).hexdigest()


__all__: list[str] = []  # internal to taylor_mlir.compile
