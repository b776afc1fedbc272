"""``neurorbm binarize``: load any source, bin and binarize it, and write the raster as a binned npz."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_neurorbm.cli._common import out_path, run_shown
from napari_neurorbm.data.binning import BinningParams, QualityRule, iter_binarize
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.data.sources import ACCEPTED, iter_open_source
from napari_neurorbm.errors import NeuroRBMError

DEFAULT_BIN_MS = 20.0


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="bin and binarize a recording into a raster file (binned npz)",
        description=(
            "Load a recording, cut it into time bins (frame f covers [start + f*bin, start + (f+1)*bin)), "
            "mark a frame 1 where the unit spiked at least once, filter and order the units (by area, then "
            "by activity) and write a binned npz with the 0/1 raster (units x frames, bit-packed along "
            "frames: counts_bits, n_frames), bin_s, areas, segment_starts, frame_times, unit_ids and the "
            "train/test split. It prints what each unit filter removed."
        ),
    )
    p.add_argument("source", metavar="SOURCE", help=f"the recording: {ACCEPTED}")
    p.add_argument("--session-id", type=int, metavar="ID", help="session id inside an Allen cache folder")
    p.add_argument(
        "--bin-ms",
        type=float,
        metavar="MS",
        help=f"bin width in milliseconds (default {DEFAULT_BIN_MS:g}; a binned npz keeps its native bins "
        "unless this is given, and then it must be a whole multiple of them)",
    )
    p.add_argument("--start-s", type=float, metavar="S", help="start of the time window, s (default: start)")
    p.add_argument("--stop-s", type=float, metavar="S", help="end of the time window, s (default: end)")
    p.add_argument(
        "--keep-every",
        type=int,
        default=1,
        metavar="K",
        help="keep every K-th frame, to thin out correlated neighbouring frames (default 1: all)",
    )
    p.add_argument(
        "--min-rate-hz",
        type=float,
        default=0.0,
        metavar="R",
        help="drop units firing below R spikes per second in the window (default 0: keep all that spike)",
    )
    p.add_argument("--areas", metavar="A,B", help="keep only units of these areas, comma separated")
    p.add_argument(
        "--quality",
        metavar="RULES",
        help="keep units whose quality metrics pass every rule, comma separated, "
        "e.g. presence_ratio>=0.9,isi_violations<=0.5 (needs a source with metrics)",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.3,
        metavar="F",
        help="fraction of frames held out for testing, in [0, 1) (default 0.3)",
    )
    p.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the train/test split (default 0)"
    )
    p.add_argument("--out", required=True, metavar="RASTER.npz", help="the binned npz to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = out_path(args.out)
    session = run_shown(iter_open_source(args.source, args.session_id))
    raster = run_shown(iter_binarize(session, _params(args, session)))
    try:
        written = raster.save(out)
    except OSError as exc:
        raise NeuroRBMError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(_summary(session, raster, written))
    return 0


def _params(args: argparse.Namespace, session: Session) -> BinningParams:
    bin_ms = args.bin_ms
    if bin_ms is None and not session.is_binned:
        bin_ms = DEFAULT_BIN_MS
    return BinningParams(
        bin_ms=bin_ms,
        start_s=args.start_s,
        stop_s=args.stop_s,
        keep_every=args.keep_every,
        min_rate_hz=args.min_rate_hz,
        areas=None if args.areas is None else _names(args.areas, "--areas"),
        quality=() if args.quality is None else _rules(args.quality),
        test_fraction=args.test_fraction,
        seed=args.seed,
    )


def _rules(text: str) -> tuple[QualityRule, ...]:
    return tuple(QualityRule.parse(r) for r in _names(text, "--quality"))


def _names(text: str, option: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise NeuroRBMError(f"{option} needs a comma-separated list, got '{text}'")
    return names


def _summary(session: Session, raster: Raster, written: Path) -> str:
    """A few lines: what came in, what each filter removed, what went out."""
    if session.is_binned:
        kind = f"{session.counts.shape[1]} native frames of {session.bin_s * 1e3:g} ms"
    else:
        kind = f"{session.stop_s - session.start_s:.6g} s of spike times"
    removed = "; ".join(f"{name}: -{n}" for name, n in raster.filter_report) or "none"
    areas = ", ".join(f"{a} {e - s}" for a, s, e in raster.area_blocks())
    activity = np.count_nonzero(raster.counts) / max(raster.counts.size, 1)  # no 0/1 copy of the raster
    return "\n".join(
        [
            f"source   {session.name}: {session.n_units} units in {len(np.unique(session.areas))} areas "
            f"({kind})",
            f"filters  {removed}",
            f"kept     {raster.n_units} units: {areas}",
            f"frames   {raster.n_frames} of {raster.bin_s * 1e3:g} ms in {len(raster.segment_starts)} "
            f"segment(s); train {len(raster.train_frames)}, test {len(raster.test_frames)}",
            f"activity {activity:.4f} per unit and frame ({activity / raster.bin_s:.3g} Hz)",
            f"wrote    {written}",
        ]
    )
