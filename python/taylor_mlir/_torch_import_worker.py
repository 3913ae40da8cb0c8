"""Child-process entry point of ``taylor_mlir.torch_import``.

Run as a script (never as ``taylor_mlir._torch_import_worker``) so that this
process loads torch-mlir's MLIR build and never taylor_mlir's.
"""

import argparse
import sys
import warnings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--program", action="append", required=True, help="torch.export.save file"
    )
    parser.add_argument(
        "--output", action="append", required=True, help="where to write MLIR text"
    )
    parser.add_argument("--output-type", default="linalg-on-tensors")
    parser.add_argument("--func-name", default="main")
    args = parser.parse_args(argv)

    if "taylor_mlir" in sys.modules:
        raise RuntimeError("the torch-mlir worker must not import taylor_mlir")

    # torch.export.load's pytree deprecation notices are noise here.
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch
    from torch_mlir import fx

    if len(args.program) != len(args.output):
        parser.error("give one --output per --program")
    for program_path, output_path in zip(args.program, args.output):
        program = torch.export.load(program_path)
        module = fx.export_and_import(
            program, output_type=args.output_type, func_name=args.func_name
        )
        text = module.operation.get_asm(
            print_generic_op_form=True, large_elements_limit=None
        )
        with open(output_path, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
