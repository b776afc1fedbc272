"""The ``neurorbm`` command: every subcommand lives in its own module with ``add_parser`` and ``run``.

The subcommands are imported lazily: the table below gives each one's module and one-line help, so that
``neurorbm --help`` lists them without importing torch, matplotlib, pandas or h5py (a start-up of seconds);
only the chosen subcommand's module is imported, to add its arguments and run it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from napari_neurorbm.errors import NeuroRBMError

# subcommand name -> (module under napari_neurorbm.cli, one-line help shown by `neurorbm --help`: the module's
# own, as tests/test_cli_main.py checks)
COMMANDS = {
    "binarize": ("binarize", "bin and binarize a recording into a raster file (binned npz)"),
    "sessions": ("sessions", "list the sessions of an Allen Visual Behavior Neuropixels cache folder"),
    "demo": (
        "demo",
        "open napari with the synthetic demo session and all widgets (headless: run the pipeline)",
    ),
    "couplings": (
        "couplings",
        "effective couplings H, J (and J_ijk) of a trained RBM by brain area; replicates: spread, "
        "reliability",
    ),
    "compare": (
        "compare",
        "compare two sessions' area couplings J_AB from replicate models of each (difference and its z)",
    ),
    "sample": (
        "sample",
        "generate a raster from a model by Gibbs sampling in time (optionally clamping units)",
    ),
    "report": (
        "report",
        "statistics of a model (Fig. 3 and 6 of the paper) or model selection of a sweep (Fig. 2), as PNGs "
        "and an HTML page",
    ),
    "train": ("train", "train an RBM on a binned raster (PCD-k) and write a model file"),
    "sweep": (
        "sweep",
        "train many RBMs (N_h x seeds x learning rates x rasters) on Dask into a sweep folder",
    ),
    "loglik": ("loglik", "log partition function of a model and the log-likelihood of a raster's frames"),
    "info": ("info", "describe a model file"),
    "spectrum": (
        "spectrum",
        "cross-validated PC variance spectrum and its power-law exponent (recording, controls, generated)",
    ),
    "dmd": ("dmd", "dynamic mode decomposition: eigenvalues of the one-frame linear map of the top PCs"),
    "multiinfo": (
        "multiinfo",
        "multi-information ratio I2/IN over random groups of units (and an RBM's, with --model)",
    ),
    "heat": (
        "heat",
        "heat capacity C(T) of a trained RBM, or of random subsets of N units (--subsets)",
    ),
    "ei": (
        "ei",
        "E/I experiment: P(K) of the excitatory units from a model of E alone and from a model of E and I",
    ),
    "maxent": (
        "maxent",
        "pairwise maximum-entropy (Ising) baseline: fit, test log-likelihood beside an RBM's",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``neurorbm``; only ``command``'s module (if it names one) is imported, to add its
    arguments: the other subcommands are known by name and help alone."""
    parser = argparse.ArgumentParser(
        prog="neurorbm",
        description="Fit Restricted Boltzmann Machines to spike recordings and look inside them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, text) in COMMANDS.items():
        if name == command:
            importlib.import_module(f"napari_neurorbm.cli.{module}").add_parser(sub, name)
        else:
            sub.add_parser(name, help=text, add_help=False)
    return parser


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand named on the command line: its first word that is not an option (the top-level parser
    has no option that takes a value), if it is one of COMMANDS."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line messages on stderr and a non-zero exit for bad input, never a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(chosen_command(argv)).parse_args(argv)
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
