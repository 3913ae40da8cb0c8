"""The named pipelines: declared once in C++, run by name from Python
(`taylor_mlir._pipelines`) and from ``taylor-opt``, with the same result;
and no pass-pipeline text in the Python package."""

from __future__ import annotations

import ast
import shlex
import subprocess
from pathlib import Path

import pytest

import taylor_mlir as tm
from taylor_mlir import _pipelines as pipelines
from taylor_mlir import errors, ir
from taylor_mlir.tools import taylor_opt

from test_compile import inputs, mlp
from test_compile_behaviour import assert_replay_fails

PACKAGE = Path(tm.__file__).resolve().parent
SOURCE_PACKAGE = Path(__file__).resolve().parents[2] / "python" / "taylor_mlir"

FUNCTION = """
func.func @f(%x: tensor<4x3xf64>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4x3xf64>
  %t = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x3xf64>) outs(%e : tensor<4x3xf64>) {
  ^bb0(%a: f64, %o: f64):
    %y = math.tanh %a : f64
    linalg.yield %y : f64
  } -> tensor<4x3xf64>
  %z = arith.constant 0.0 : f64
  %i = tensor.empty() : tensor<4xf64>
  %f = linalg.fill ins(%z : f64) outs(%i : tensor<4xf64>) -> tensor<4xf64>
  %s = linalg.reduce ins(%t : tensor<4x3xf64>) outs(%f : tensor<4xf64>)
      dimensions = [1]
    (%a: f64, %b: f64) {
      %c = arith.addf %a, %b : f64
      linalg.yield %c : f64
    }
  return %s : tensor<4xf64>
}
"""

JETS = pipelines.step(
    "taylor-jets",
    function="f",
    jet_functions=["lap", "grad"],
    orders=[2, 1],
    directions=[3],
    seeds=["identity", "input"],
    input_coefficients=[[1]],
    result_coefficients=[[0, 2], [1]],
    sum_top=[True, False],
    runtime_weights=[True, False],
)

CASES = {
    "jets": pipelines.Pipeline([JETS]),
    "jets, collapse, lower": pipelines.Pipeline(
        [
            JETS,
            pipelines.step("taylor-collapse-jets"),
            pipelines.step("taylor-lower-jets"),
        ]
    ),
    "vjp, split": pipelines.Pipeline(
        [
            pipelines.step("taylor-vjp", function="f", vjp_function="f_vjp"),
            pipelines.step(
                "taylor-split-vjp", function="f_vjp", cotangents=1, primal_results=1
            ),
        ]
    ),
    "cpu codegen without BLAS": pipelines.Pipeline(
        [
            JETS,
            pipelines.step("taylor-lower-jets"),
            pipelines.codegen("cpu", blas=False),
        ]
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_python_and_taylor_opt_give_the_same_ir(case):
    steps = CASES[case]
    with ir.Context():
        module = ir.Module.parse(FUNCTION)
        assert pipelines.run(module, steps) == steps
        from_python = str(module)
    replay = subprocess.run(
        [taylor_opt(), f"--pass-pipeline={steps}"],
        input=FUNCTION,
        capture_output=True,
        text=True,
        check=True,
    )
    assert replay.stdout == from_python + "\n"  # taylor-opt ends with a newline
    # The command a Pipeline prints is that command.
    assert shlex.split(steps.command("in.mlir"))[2] == f"--pass-pipeline={steps}"


def test_options_are_written_in_one_place():
    assert str(JETS) == (
        "taylor-jets{function=f jet-functions=lap,grad orders=2,1 directions=3 "
        "seeds=identity,input input-coefficients=[1] result-coefficients=[0,2],[1] "
        "sum-top=true,false runtime-weights=true,false}"
    )
    assert pipelines.format_options(
        {"weights": [[0.5, -2.0]], "symbol_dce": False}
    ) == ("weights=[0.5,-2.0] symbol-dce=false")
    # None and empty lists are the pipeline's defaults.
    assert pipelines.format_options({"function": None, "arguments": []}) == ""
    with pytest.raises(ValueError, match="not a plain name"):
        pipelines.format_options({"function": "f} canonicalize{"})


def test_registered_pipelines_and_targets():
    registered = {p["name"]: p for p in pipelines.registered()}
    assert {
        "taylor-jets",
        "taylor-collapse-jets",
        "taylor-lower-jets",
        "taylor-vjp",
        "taylor-split-vjp",
        "taylor-inline-cleanup",
        "taylor-cpu-codegen",
        "taylor-to-llvm",
        "taylor-cuda-map",
        "taylor-cuda-kernels",
        "taylor-cuda-codegen",
        "taylor-cuda-emulated-codegen",
    } <= set(registered)
    assert all(p["description"] for p in registered.values())
    options = dict(registered["taylor-jets"]["options"])
    assert "one taylor-jet each" in options["jet-functions"]
    assert "blas=true" in registered["taylor-cpu-codegen"]["defaults"]
    assert pipelines.targets() == ["cpu", "cuda", "cuda-emulated"]
    assert pipelines.codegen("cpu").name == "taylor-cpu-codegen"
    assert pipelines.codegen("cuda").name == "taylor-cuda-codegen"
    assert "format=isa" in registered["taylor-cuda-kernels"]["defaults"]
    with pytest.raises(ValueError, match="unknown target 'gpu'"):
        pipelines.codegen("gpu")


def test_unknown_pipelines_and_bad_options_are_refused():
    with ir.Context():
        module = ir.Module.parse(FUNCTION)
        with pytest.raises(ValueError, match="no pipeline named 'taylor-lower'"):
            pipelines.run(module, "taylor-lower")  # a pass, not a pipeline
        with pytest.raises(ValueError, match="option 'orders' has 3 entries"):
            pipelines.run(module, "taylor-jets", jet_functions=["a"], orders=[1, 2, 3])
        with pytest.raises(ValueError, match="no such option bogus"):
            pipelines.run(module, "taylor-vjp", bogus=1)


def test_failure_leaves_a_reproducer_naming_the_pipeline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(errors.REPRODUCER_DIR_ENV, str(tmp_path))
    text = """
      func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
        %r = arith.remf %x, %x : tensor<4xf64>
        return %r : tensor<4xf64>
      }"""
    with ir.Context():
        module = ir.Module.parse(text)
        with pytest.raises(tm.CompilationError) as info:
            pipelines.run(module, "taylor-jets", jet_functions=["f_jet"], orders=[2])
    error = info.value
    assert error.stage == "taylor-jets"
    assert Path(error.reproducer).parent == tmp_path
    assert (
        "--pass-pipeline='builtin.module(taylor-jets{jet-functions=f_jet orders=2})'"
        in (error.command)
    )
    assert error.command in capsys.readouterr().err
    assert_replay_fails(error.command, "no Taylor-mode rule for 'arith.remf'")


def test_compiled_operator_pipeline_is_structured_and_replays():
    lap = tm.compile(
        mlp(4, "tanh"), op="laplacian", example_inputs=inputs(4, 4), collapsed=True
    )
    assert isinstance(lap.pipeline, pipelines.Pipeline)
    assert lap.pipeline.names == [
        "taylor-jets",
        "taylor-collapse-jets",
        "taylor-lower-jets",
        "taylor-cpu-codegen",
    ]
    jets = dict(lap.pipeline[0].options)
    assert "identity" in jets["seeds"] and jets["symbol_dce"] is True
    assert str(lap.pipeline).startswith("builtin.module(taylor-jets{function=main ")
    # taylor-opt running the recorded stages after taylor-jet on its IR gives
    # the lowered IR.
    middle = pipelines.Pipeline(lap.pipeline[1:3])
    replay = subprocess.run(
        [taylor_opt(), f"--pass-pipeline={middle}"],
        input=lap.ir["taylor-jet"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert replay.stdout == lap.ir["lowered"] + "\n"


def _pipeline_strings(path: Path) -> list[str]:
    """String constants of ``path`` (docstrings aside) that spell a pass
    pipeline."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(
            node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        )
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    markers = ("builtin.module(", "func.func(", "canonicalize", "symbol-dce")
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and any(m in node.value for m in markers)
        ):
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


def test_python_holds_no_pipeline_strings():
    """Pass sequences live in C++ (include/Taylor/Pipelines); the package
    names registered pipelines. Allowed: the module anchor `_pipelines`
    wraps the names in, and torch-mlir's own pipelines (`_linalg_ops`)."""
    allowed = {("_pipelines.py", "'builtin.module('")}
    found = []
    for path in sorted(SOURCE_PACKAGE.rglob("*.py")):
        if path.name == "_linalg_ops.py":
            continue
        for hit in _pipeline_strings(path):
            name, _, value = hit.partition(": ")
            if (path.name, value) not in allowed:
                found.append(hit)
    assert not found, "pass pipelines spelled in Python:\n" + "\n".join(found)
    # The scan sees what it looks for.
    assert _pipeline_strings(SOURCE_PACKAGE / "_pipelines.py")
