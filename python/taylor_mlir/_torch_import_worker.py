"""Child-process entry point of ``taylor_mlir.torch_import``.

Run as a script (never as ``taylor_mlir._torch_import_worker``) so that this
process loads torch-mlir's MLIR build and never taylor_mlir's.
"""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--program", required=True, help="torch.export.save file")
    parser.add_argument("--output", required=True, help="where to write MLIR text")
    parser.add_argument("--output-type", default="linalg-on-tensors")
    parser.add_argument("--func-name", default="main")
    args = parser.parse_args(argv)

    if "taylor_mlir" in sys.modules:
        raise RuntimeError("the torch-mlir worker must not import taylor_mlir")

    import torch
    from torch_mlir import fx

    program = torch.export.load(args.program)
    module = fx.export_and_import(
        program, output_type=args.output_type, func_name=args.func_name
    )
    text = module.operation.get_asm(
        print_generic_op_form=True, large_elements_limit=None
    )
    with open(args.output, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
