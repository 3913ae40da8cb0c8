"""The named pass pipelines of taylor-mlir, run by name.

Every pipeline is declared once, in C++ (``include/Taylor/Pipelines``), and
registered by name: Python holds no pass sequence. A `Step` is a registered
pipeline with options given as Python values; they are written in the
pipeline's option syntax here, in one place (`format_options`). `run` builds
the steps into a pass manager through the registry (the ``_taylorDialects``
extension looks each name up) and runs them; a failure leaves a reproducer
and the ``taylor-opt`` command that runs the same named pipelines on it.

Example::

    from taylor_mlir import _pipelines as pipelines
    pipelines.run(module, "taylor-vjp", function="f", arguments=[0])
    lowering = pipelines.codegen("cpu", blas=False)   # Step("taylor-cpu-codegen", ...)
    print(pipelines.Pipeline([lowering]).command("in.mlir"))
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import ir, passmanager
from ._mlir_libs import _taylorDialects

#: Characters a string option value may hold (names of functions, seeds,
#: chips, NVPTX features such as ``+ptx80``, directory paths).
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-+/"
)


def _format_value(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if not value or not set(value) <= _PLAIN:
            raise ValueError(
                f"option {name!r}: {value!r} is not a plain name (letters, "
                "digits, '_', '.', '$', '-', '+', '/')"
            )
        return value
    if isinstance(value, (list, tuple)):
        # A list inside a list option: one entry, written [a,b].
        return "[" + ",".join(_format_value(v, name) for v in value) + "]"
    raise TypeError(f"option {name!r}: cannot write {type(value).__name__} {value!r}")


def format_options(options: Mapping[str, Any]) -> str:
    """``options`` in the pipeline option syntax, ``key=value ...``: keys
    with ``_`` become ``-``; bools are ``true``/``false``; a list is a list
    option (``a,b``), a list of lists one of ``[..]`` entries; None and empty
    lists are left out (the pipeline's default)."""
    parts = []
    for key, value in options.items():
        name = key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            if not value:
                continue
            text = ",".join(_format_value(v, name) for v in value)
        else:
            text = _format_value(value, name)
        parts.append(f"{name}={text}")
    return " ".join(parts)


@dataclass(frozen=True)
class Step:
    """A registered pipeline and its options (Python values)."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def option_text(self) -> str:
        """The options in the pipeline's syntax (``key=value ...``)."""
        return format_options(dict(self.options))

    def __str__(self) -> str:
        """The step as a textual pipeline element, ``NAME{options}``."""
        text = self.option_text
        return f"{self.name}{{{text}}}" if text else self.name


def step(name: str, **options: Any) -> Step:
    """`Step` ``name`` with ``options`` (keyword names use ``_`` for ``-``)."""
    frozen = tuple(
        (
            (k, tuple(tuple(x) if isinstance(x, list) else x for x in v))
            if isinstance(v, list)
            else (k, v)
        )
        for k, v in options.items()
    )
    return Step(name, frozen)


class Pipeline(tuple):
    """A sequence of `Step`s: the structured description of what a compiled
    artifact ran. ``str()`` is the equivalent textual pass pipeline,
    `command` the ``taylor-opt`` command line."""

    def __new__(cls, steps: Iterable[Step] = ()):
        return super().__new__(cls, tuple(steps))

    def __add__(self, other: Iterable[Step]) -> Pipeline:
        return Pipeline(tuple(self) + tuple(other))

    @property
    def names(self) -> list[str]:
        """The names of the pipelines, in order."""
        return [s.name for s in self]

    def __str__(self) -> str:
        return "builtin.module(" + ", ".join(map(str, self)) + ")"

    def __repr__(self) -> str:
        return f"Pipeline({list(self)!r})"

    def command(self, input: str = "-", *extra: str) -> str:
        """The ``taylor-opt`` command that runs these named pipelines on
        ``input``."""
        return " ".join(
            [
                "taylor-opt",
                shlex.quote(str(input)),
                f"--pass-pipeline={shlex.quote(str(self))}",
            ]
            + [shlex.quote(e) for e in extra]
        )


def _steps(
    pipeline: str | Step | Iterable[Step], options: Mapping[str, Any]
) -> Pipeline:
    if isinstance(pipeline, str):
        return Pipeline([step(pipeline, **options)])
    if options:
        raise TypeError("options are given with a pipeline name, not with steps")
    if isinstance(pipeline, Step):
        return Pipeline([pipeline])
    return Pipeline(pipeline)


def pass_manager(pipeline: str | Step | Iterable[Step], **options: Any):
    """A `PassManager` (on ``builtin.module``, in the current context) holding
    the registered pipelines ``pipeline`` (a name with ``options``, a `Step`
    or steps). ValueError if a name is not a registered pipeline or its
    options are invalid."""
    pm = passmanager.PassManager("builtin.module")
    for s in _steps(pipeline, options):
        if not _taylorDialects.is_registered_pipeline(s.name):
            raise ValueError(
                f"no pipeline named {s.name!r} is registered (Python runs the "
                "named pipelines of taylor_mlir._pipelines.registered(), not "
                "single passes)"
            )
        _taylorDialects.add_registered_pipeline(pm, s.name, s.option_text)
    return pm


def run(
    module: ir.Module,
    pipeline: str | Step | Iterable[Step],
    *,
    stage: str = "",
    **options: Any,
) -> Pipeline:
    """Runs the registered pipeline ``pipeline`` (a name, with ``options`` as
    Python values; or a `Step` or steps) on ``module`` in place and returns
    the steps run. On failure, writes the input module to a reproducer,
    prints the ``taylor-opt`` command that replays it (naming the same
    pipelines) to stderr, and raises `errors.CompilationError`."""
    from .errors import run_pass_manager

    steps = _steps(pipeline, options)
    with module.context:
        pm = pass_manager(steps)
    run_pass_manager(
        module, pm, stage=stage or " + ".join(steps.names), pipeline=str(steps)
    )
    return steps


def codegen(target: str = "cpu", **options: Any) -> Step:
    """The codegen pipeline of ``target`` (`targets`), with ``options``."""
    return step(_taylorDialects.codegen_pipeline(target), **options)


def default_codegen() -> Pipeline:
    """The codegen of the host: `codegen` ``("cpu")`` as a `Pipeline`
    (what `jit.JitModule` lowers with)."""
    return Pipeline([codegen("cpu")])


def targets() -> list[str]:
    """The code generation targets (``["cpu"]``)."""
    return list(_taylorDialects.targets())


def registered() -> list[dict[str, Any]]:
    """The named pipelines of taylor-mlir: dicts with ``name``,
    ``description``, ``defaults`` (``{option=value ...}``) and ``options``
    (``[(name, help)]``)."""
    return list(_taylorDialects.pipelines())


__all__ = [
    "Pipeline",
    "Step",
    "codegen",
    "default_codegen",
    "format_options",
    "pass_manager",
    "registered",
    "run",
    "step",
    "targets",
]
