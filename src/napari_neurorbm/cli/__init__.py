"""The ``neurorbm`` command: every subcommand lives in its own module with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from napari_neurorbm.errors import NeuroRBMError

# subcommand name -> module under napari_neurorbm.cli
COMMANDS = {
    "binarize": "binarize",
    "sessions": "sessions",
    "demo": "demo",
    "couplings": "couplings",
    "sample": "sample",
    "report": "report",
    "train": "train",
    "loglik": "loglik",
    "info": "info",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurorbm",
        description="Fit Restricted Boltzmann Machines to spike recordings and look inside them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        importlib.import_module(f"napari_neurorbm.cli.{module}").add_parser(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line messages on stderr and a non-zero exit for bad input, never a traceback."""
    args = build_parser().parse_args(argv)
    warnings.showwarning = _one_line_warning
    try:
        return int(args.run(args) or 0)
    except NeuroRBMError as exc:
        print(f"neurorbm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neurorbm {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"neurorbm: warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
