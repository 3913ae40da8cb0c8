"""Child-process entry point of ``taylor_mlir.torch_import``.

Run as a script (never as ``taylor_mlir._torch_import_worker``) so that this
process loads torch-mlir's MLIR build and never taylor_mlir's.

Two modes:

- one-shot: ``--program P --output O`` (repeatable) converts and exits;
- ``--serve``: reads one JSON request per line on stdin,
  ``{"program": P, "output": O, "output_type": T, "func_name": F}``, and
  answers each with one JSON line on stdout, ``{"ok": true}`` or
  ``{"ok": false, "error": "..."}``; the parent keeps the process (and its
  loaded torch and torch-mlir) for every import it makes.

Every op carries the FX node it came from as a name location,
``loc("fx:<node>"(<source location>))``, so that the parent can name the
aten op and the model's source line behind any later diagnostic.

A linalg-on-tensors module that still holds ops of torch-mlir's own dialects
(TMTensor's ``tm_tensor.sort``, ``tm_tensor.scan``, ``tm_tensor.scatter``,
..., or a leftover ``torch.*`` / ``torch_c.*`` op), which taylor_mlir's MLIR
cannot even parse, is refused here (`UnsupportedDialectError`), naming the
first such op's FX node first so that the parent reports its aten op and
source line.
"""

import argparse
import json
import os
import sys
import traceback
import warnings

#: Prefix of the name locations that carry FX node names.
NODE_LOCATION_PREFIX = "fx:"

#: Dialects a linalg-on-tensors module may use: upstream MLIR's part of
#: torch-mlir's linalg-on-tensors backend contract (which also admits its own
#: TMTensor dialect). taylor_mlir parses all of them; whether it compiles an
#: op is for its passes to say, with the op's location.
ACCEPTED_DIALECTS = frozenset(
    {
        "builtin",
        "func",
        "linalg",
        "tensor",
        "arith",
        "math",
        "affine",
        "scf",
        "cf",
        "complex",
        "ml_program",
        "sparse_tensor",
    }
)


class UnsupportedDialectError(Exception):
    """torch-mlir lowered an op outside `ACCEPTED_DIALECTS`."""


#: What is known of each FX node imported (by node name): its aten op, stack
#: trace and module path; sent back with each reply.
_NODES: dict = {}


def _name_locations_by_node() -> None:
    """Wraps torch-mlir's location of each FX node in a name location and
    records the node in `_NODES`."""
    from torch_mlir.extras import fx_importer
    from torch_mlir.ir import Location

    original = fx_importer.ContextCache.get_node_location

    def get_node_location(self, node):
        location = original(self, node) or Location.unknown(context=self._c)
        modules = node.meta.get("nn_module_stack") or {}
        _NODES[node.name] = {
            "target": str(node.target),
            "stack_trace": node.meta.get("stack_trace") or "",
            "modules": [
                [str(path), getattr(cls, "__name__", str(cls))]
                for path, cls in modules.values()
            ],
        }
        return Location.name(
            NODE_LOCATION_PREFIX + node.name, childLoc=location, context=self._c
        )

    fx_importer.ContextCache.get_node_location = get_node_location


_LINALG_OPS = None


def _linalg_ops():
    """``taylor_mlir/_linalg_ops.py``, loaded by path (never as part of
    taylor_mlir): defines the ``torch.ops.taylor`` linear algebra ops that
    the parent routes ``torch.linalg`` calls to, and imports them."""
    global _LINALG_OPS
    if _LINALG_OPS is None:
        import importlib.util

        path = os.path.join(os.path.dirname(__file__), "_linalg_ops.py")
        spec = importlib.util.spec_from_file_location("_taylor_linalg_ops", path)
        _LINALG_OPS = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_LINALG_OPS)
    return _LINALG_OPS


def _convert(program_path: str, output_path: str, output_type: str, func_name: str):
    import torch
    from torch_mlir import fx

    linalg_ops = _linalg_ops()  # before loading: the program may call its ops
    program = torch.export.load(program_path)
    if linalg_ops.uses_custom_ops(program):
        module = linalg_ops.export_and_import(program, output_type, func_name)
    else:
        module = fx.export_and_import(
            program, output_type=output_type, func_name=func_name
        )
    if output_type == "linalg-on-tensors":
        _check_dialects(module)
    # Calls standing for taylor linear algebra ops become those ops.
    linalg_ops.calls_to_ops(module)
    text = module.operation.get_asm(
        print_generic_op_form=True, large_elements_limit=None, enable_debug_info=True
    )
    with open(output_path, "w") as f:
        f.write(text)


def _check_dialects(module) -> None:
    """Raises `UnsupportedDialectError` if ``module`` holds an op outside
    `ACCEPTED_DIALECTS`; the message starts with the first one's FX node."""
    from torch_mlir.ir import WalkOrder, WalkResult

    found = []  # (node name or None, op name, location)

    def visit(op):
        name = op.name
        if name.split(".", 1)[0] in ACCEPTED_DIALECTS:
            return WalkResult.ADVANCE
        location = str(op.location)
        start = location.find('"' + NODE_LOCATION_PREFIX)
        node = None
        if start >= 0:
            end = location.find('"', start + 1)
            node = location[start + 1 + len(NODE_LOCATION_PREFIX) : end]
        found.append((node, name, location))
        return WalkResult.SKIP  # its body is part of it

    module.operation.walk(visit, walk_order=WalkOrder.PRE_ORDER)
    if not found:
        return
    located = [f for f in found if f[0] is not None] or found

    def describe(node, name, location):
        if node is None:
            return f"an op to '{name}' at {location}"
        target = _NODES.get(node, {}).get("target", "?")
        return f"{NODE_LOCATION_PREFIX}{node} ({target}) to '{name}'"

    node, name, location = located[0]
    others = sorted({describe(*f) for f in found} - {describe(*located[0])})
    raise UnsupportedDialectError(
        f"torch-mlir lowers {describe(node, name, location)}, outside the "
        f"dialects taylor-mlir compiles ({', '.join(sorted(ACCEPTED_DIALECTS))})"
        + (f"; also {'; '.join(others)}" if others else "")
    )


def _exit_with_parent() -> None:
    """Exits this process as soon as its parent is gone, even if the parent
    died without closing our stdin (killed) or a process it forked keeps the
    pipe open; the parent passes its pid in ``TAYLOR_MLIR_IMPORT_PARENT``."""
    import threading
    import time

    parent = int(os.environ.get("TAYLOR_MLIR_IMPORT_PARENT") or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve() -> int:
    _exit_with_parent()
    # Replies go to the original stdout; anything else printed goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # native writes to fd 1 too
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        _NODES.clear()
        try:
            request = json.loads(line)
            _convert(
                request["program"],
                request["output"],
                request.get("output_type", "linalg-on-tensors"),
                request.get("func_name", "main"),
            )
            reply = {"ok": True, "id": request.get("id"), "nodes": _NODES}
        except Exception as error:  # reported to the parent, which raises
            reply = {
                "ok": False,
                "id": request.get("id") if isinstance(request, dict) else None,
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc(),
                "nodes": _NODES,
            }
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help="serve requests")
    parser.add_argument("--program", action="append", help="torch.export.save file")
    parser.add_argument("--output", action="append", help="where to write MLIR text")
    parser.add_argument("--output-type", default="linalg-on-tensors")
    parser.add_argument("--func-name", default="main")
    args = parser.parse_args(argv)

    if "taylor_mlir" in sys.modules:
        raise RuntimeError("the torch-mlir worker must not import taylor_mlir")

    # torch.export.load's pytree deprecation notices are noise here.
    warnings.filterwarnings("ignore", category=FutureWarning)
    _name_locations_by_node()
    if args.serve:
        return _serve()
    if not args.program or len(args.program) != len(args.output or []):
        parser.error("give --serve, or one --output per --program")
    for program_path, output_path in zip(args.program, args.output):
        _convert(program_path, output_path, args.output_type, args.func_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
