"""``neurorbm binarize``: load any source, bin and binarize it, and write the raster as a binned npz."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_neurorbm.cli._common import out_path, run_shown
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.configs import BinningConfig
from napari_neurorbm.data.binning import iter_binarize, unchosen_width
from napari_neurorbm.data.celltypes import describe_classes
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.data.sources import ACCEPTED, iter_open_source
from napari_neurorbm.errors import NeuroRBMError


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="bin and binarize a recording into a raster file (binned npz)",
        description=(
            "Load a recording, cut it into time bins (frame f covers [start + f*bin, start + (f+1)*bin)), "
            "mark a frame 1 where the unit spiked at least once, filter and order the units (by area, then "
            "by activity) and write a binned npz with the 0/1 raster (units x frames, bit-packed along "
            "frames: counts_bits, n_frames), bin_s, areas, segment_starts, frame_times, unit_ids, the units' "
            "putative E/I classes and waveform widths (where the source gives widths) and the train/test "
            "split. It prints what each unit filter removed and the E/I counts."
        ),
    )
    p.add_argument("source", metavar="SOURCE", help=f"the recording: {ACCEPTED}")
    p.add_argument("--session-id", type=int, metavar="ID", help="session id inside an Allen cache folder")
    p.add_argument(
        "--download",
        action="store_true",
        help="an Allen session whose NWB file is not in the cache folder is downloaded whole into it (by "
        "default only its units are streamed, through the block cache; see docs/data.md)",
    )
    add_config_options(p, BinningConfig)
    p.add_argument("--out", required=True, metavar="RASTER.npz", help="the binned npz to write")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = out_path(args.out)
    params = config_from_args(args, BinningConfig())
    session = run_shown(iter_open_source(args.source, args.session_id, stream=not args.download))
    if args.bin_ms is None:  # nobody chose the width: a binned source keeps its native bins
        params = unchosen_width(session, params)
    raster = run_shown(iter_binarize(session, params))
    try:
        written = raster.save(out)
    except OSError as exc:
        raise NeuroRBMError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(_summary(session, raster, written, params.ei_threshold_ms))
    return 0


def _summary(session: Session, raster: Raster, written: Path, threshold_ms: float) -> str:
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
            f"classes  {_classes(raster, threshold_ms)}",
            f"frames   {raster.n_frames} of {raster.bin_s * 1e3:g} ms in {len(raster.segment_starts)} "
            f"segment(s); train {len(raster.train_frames)}, test {len(raster.test_frames)}",
            f"epochs   {raster.epochs.describe() if raster.epochs is not None else 'none'}",
            f"activity {activity:.4f} per unit and frame ({activity / raster.bin_s:.3g} Hz)",
            f"wrote    {written}",
        ]
    )


def _classes(raster: Raster, threshold_ms: float) -> str:
    """'E 160, I 40 (I: waveform narrower than 0.4 ms)', or why there is no E/I class."""
    counts = describe_classes(raster.classes)
    if not counts:
        return "none: the source gives no spike waveform width (no E/I split)"
    return f"{counts} (I: spike waveform narrower than {threshold_ms:g} ms)"
