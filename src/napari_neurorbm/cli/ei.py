"""`neurorbm ei`: seed 004's E/I experiment, a model of the excitatory units alone against a model of E and I,
judged by their P(K) of the excitatory units."""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_neurorbm.analysis.ei_experiment import iter_ei_experiment, write_ei
from napari_neurorbm.cli._common import print_results, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import EIConfig, TrainConfig
from napari_neurorbm.data.raster import read_raster
from napari_neurorbm.errors import NeuroRBMError

HELP = "E/I experiment: P(K) of the excitatory units from a model of E alone and from a model of E and I"


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(name, help=HELP, description=(
        "Seed 004's experiment with RBMs. The raster's units are putative E or I by spike waveform width "
        "(`neurorbm binarize --ei-threshold-ms`). Two RBMs train with the same settings (--minutes is each "
        "model's budget) on the raster's training frames: one of the E units alone, one of all classified "
        "units (E and I). Each generates frames from its training frames; P(K) of the E units (K active per "
        "frame) of both is compared with the test frames' by total variation and KL. Writes p_k.csv, "
        "p_k.png, summary.json and the two model files (e_only.npz, e_and_i.npz; `neurorbm couplings "
        "e_and_i.npz` then sums up J by E-E, E-I, I-I) into DIR. See docs/analyses.md."))
    p.add_argument("raster", metavar="RASTER.npz", help="a raster written by `neurorbm binarize` from a "
                   "source with spike waveform widths")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    p.add_argument("--json", action="store_true", help="print the headline numbers as one JSON object")
    add_config_options(p, EIConfig)
    add_config_options(p, TrainConfig)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise NeuroRBMError(f"--out {args.out} is a file; give a folder")
    train = config_from_args(args, TrainConfig()).validate()
    config = config_from_args(args, EIConfig())
    result = run_shown(iter_ei_experiment(read_raster(args.raster), train, config))
    write_ei(result, out)
    s = result.summary()
    print_results(args, s, _text(s, out))
    return 0


def _text(s: dict, out: Path) -> str:
    """The headline numbers in a few lines."""
    units = s["units"]
    left_out = f", {units['unknown']} of unknown class left out" if units["unknown"] else ""
    lines = [f"P(K) of {units['E']} E units ({units['I']} I units{left_out}), {s['test_frames']} test "
             f"frames: mean K {s['data']['mean_k']:.3g}, var K {s['data']['var_k']:.3g}"]
    for key in ("e_only", "e_and_i"):
        m = s[key]
        lines.append(f"  {key:8s} TV {m['total_variation']:.4f}  KL {m['kl']:.4f}  mean K {m['mean_k']:.3g}  "
                     f"var K {m['var_k']:.3g}")
    return "\n".join([*lines, f"wrote {out}"])
