"""`neurorbm compare`: two sessions' area couplings J_AB side by side, their difference and its z."""

from __future__ import annotations

import argparse

import pandas as pd

from napari_neurorbm.analysis.compare import iter_compare_files
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.cli._common import add_results_options, out_path, print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import CouplingsConfig

HELP = "compare two sessions' area couplings J_AB from replicate models of each (difference and its z)"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "Two sessions record different neurons, so their couplings are compared by brain area: J_AB "
        "(eq. 15) of each session over the areas with enough units in both. Each session is given as two "
        "or more replicate models of one configuration (seeds, or the time-block halves of the training "
        "frames), whose spread gives each J_AB a standard error. Per area pair (each unordered pair once: "
        "J_AB = J_BA) the table has J_a, se_a (session A), J_b, se_b (session B), diff = J_b - J_a, "
        "se_diff = sqrt(se_a^2 + se_b^2) and z = diff / se_diff. Example, familiar then novel images: "
        "neurorbm compare --a fam_s0.npz fam_s1.npz fam_s2.npz --b nov_s0.npz nov_s1.npz nov_s2.npz "
        "--out familiar_vs_novel.csv. "
        "See docs/couplings.md."))
    p.add_argument("--a", nargs="+", required=True, metavar="MODEL.npz",
                   help="session A: two or more replicate model files (written by `neurorbm train`)")
    p.add_argument("--b", nargs="+", required=True, metavar="MODEL.npz",
                   help="session B: two or more replicate model files of the other session")
    add_results_options(p, "TABLE.csv", "CSV: the table of area pairs", out_required=False)
    add_config_options(p, CouplingsConfig, only=("min_units", "reliable_t", "device"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, CouplingsConfig())
    out = out_path(args.out) if args.out else None
    comparison = run_shown(iter_compare_files(args.a, args.b, cfg.min_units, device=cfg.device))
    table = comparison.table
    if out is not None:
        write_csv(out, table, index=False)
    summary = comparison.summary(cfg.reliable_t)
    if args.json:
        summary["table"] = table.to_dict(orient="records")
    print_results(args, summary, _text(table, summary, cfg.min_units) + (f"; wrote {out}" if out else ""))
    return 0


def _text(table: pd.DataFrame, s: dict, min_units: int) -> str:
    """The table, then a line: what was compared and how many area pairs changed."""
    with pd.option_context("display.width", None, "display.float_format", "{:.4g}".format):
        shown = table.to_string(index=False)
    return (f"{shown}\n{s['area_pairs']} area pairs over {len(s['areas'])} areas with >= {min_units} "
            f"units in both sessions ({s['replicates_a']} and {s['replicates_b']} replicates); "
            f"{s['changed']} differ by |z| >= {s['z_limit']:g}")
