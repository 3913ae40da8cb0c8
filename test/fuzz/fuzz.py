"""Differential fuzzing of `taylor_mlir.compile` against torch.func.

Usage (from the repository root, with the project's virtual environment)::

    .venv/bin/python test/fuzz/fuzz.py --count 2000 --seed 1          # 2000 models
    .venv/bin/python test/fuzz/fuzz.py --seed 1 --case 17 --show      # one case again
    .venv/bin/python test/fuzz/fuzz.py --model 123456 --dim 3 --op biharmonic

Runs cases ``--start``, ``--start + 1``, ... of the run ``--seed``
(`check.make_case`: one compile each, 1..``--max-models`` random models
side by side, the operators in rotation, random options and variants) until
``--count`` models were checked or ``--minutes`` passed, then prints the
counts of passing and failing models by status and every failing case with
the command that reproduces it. A model that fails inside a combined case is
checked again alone (``isolated``), which tells whether it fails by itself.
``--log FILE`` appends one JSON line per case.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check import OPERATORS, Case, check, make_case, random_options  # noqa: E402
from models import generate  # noqa: E402


def _command(case: Case) -> str:
    return (
        f".venv/bin/python test/fuzz/fuzz.py --seed {case.run_seed} "
        f"--case {case.index} --show"
    )


def _report(result, log) -> None:
    case = result.case
    entry = {
        "case": f"{case.run_seed}:{case.index}",
        "op": case.op,
        "models": [m.seed for m in case.models],
        "dim": case.dim,
        "status": result.status,
        "errors": result.errors,
        "seconds": round(result.seconds, 3),
        "description": case.describe(),
    }
    if not result.passed:
        entry["message"] = result.message[:4000]
    if log:
        log.write(json.dumps(entry) + "\n")
        log.flush()


def _isolate(result) -> list[str]:
    """Each failing model of a combined case, checked alone."""
    case = result.case
    lines = []
    if len(case.models) == 1:
        return lines
    for j in result.failing_models():
        alone = check(case.single(j))
        lines.append(
            f"    model {case.models[j].seed} alone: {alone.status[0]} "
            f"(error {alone.errors[0]:.3g}) {alone.message.splitlines()[0] if alone.message else ''}"
        )
    return lines


def run(args) -> int:
    counts: collections.Counter[str] = collections.Counter()
    by_op: collections.Counter[tuple[str, str]] = collections.Counter()
    failures = []
    worst = 0.0
    start = time.perf_counter()
    log = open(args.log, "a") if args.log else None
    index = args.start
    models = cases = 0
    while models < args.count:
        if args.minutes and time.perf_counter() - start > 60 * args.minutes:
            break
        case = make_case(
            args.seed, index, max_models=args.max_models, max_depth=args.max_depth
        )
        result = check(case)
        _report(result, log)
        cases += 1
        models += len(case.models)
        for status, error in zip(result.status, result.errors):
            counts[status] += 1
            by_op[(case.op, status)] += 1
            if status == "pass":
                worst = max(worst, error)
        if not result.passed:
            lines = [f"FAIL {case.describe()}", f"  {result.message.splitlines()[0]}"]
            lines += [f"  {d}" for d in result.details[:6]]
            lines += _isolate(result)
            lines.append(f"  reproduce: {_command(case)}")
            failures.append("\n".join(lines))
            print("\n".join(lines), flush=True)
        if args.verbose:
            times = " ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
            print(
                f"{result.seconds:6.2f}s ({times}) {result.status} {case.describe()}",
                flush=True,
            )
        elif cases % 10 == 0:
            elapsed = time.perf_counter() - start
            print(
                f"[{elapsed:7.0f} s] {cases} cases, {models} models: "
                f"{dict(counts)}",
                flush=True,
            )
        index += 1
    elapsed = time.perf_counter() - start
    print(
        f"\nrun seed {args.seed}, cases {args.start}..{index - 1}: {models} models "
        f"in {cases} compiles, {elapsed:.0f} s"
    )
    print(f"models by status: {dict(counts)}")
    for op in OPERATORS:
        row = {s: n for (o, s), n in by_op.items() if o == op}
        print(f"  {op:22s} {row}")
    print(f"largest error of a passing model: {worst:.3g}")
    print(f"failing cases: {len(failures)}")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


def show(args) -> int:
    if args.model is not None:
        model = generate(args.model, args.dim, max_depth=args.max_depth)
        import random

        options = random_options(args.op, model.dim, random.Random(args.model))
        case = Case(args.seed, 0, [model], args.op, options, args.batch)
    else:
        case = make_case(
            args.seed, args.case, max_models=args.max_models, max_depth=args.max_depth
        )
    print(case.describe())
    for m in case.models:
        print(m.source)
    result = check(case)
    print(f"status: {result.status}, errors: {result.errors}")
    if result.message:
        print(result.message)
    for line in _isolate(result):
        print(line)
    return 0 if result.passed else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="models to check")
    parser.add_argument("--seed", type=int, default=0, help="run seed")
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--max-models", type=int, default=4, help="models per compile")
    parser.add_argument("--max-depth", type=int, default=8, help="statements per model")
    parser.add_argument("--minutes", type=float, default=0, help="time limit")
    parser.add_argument("--log", help="append one JSON line per case to this file")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--case", type=int, help="check this case only (--show)")
    parser.add_argument("--show", action="store_true", help="print the models too")
    parser.add_argument("--model", type=int, help="check one model seed alone")
    parser.add_argument("--dim", type=int, help="with --model: input features")
    parser.add_argument("--op", default="laplacian", choices=OPERATORS)
    parser.add_argument("--batch", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.case is not None or args.model is not None:
        return show(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
