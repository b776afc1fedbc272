"""``neurorbm sweep``: many trainings (rasters x hidden units x seeds x learning rates, optionally halves of
the training frames) on Dask, into one sweep folder, with progress and a summary of the results.

Ctrl-C or SIGTERM stop the sweep cleanly: each running run saves its model file at its next update and
stops; running the same command again continues every unfinished run from its file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Generator
from pathlib import Path

import pandas as pd

from napari_neurorbm.autosave import check_minutes
from napari_neurorbm.cli._common import ProgressLine
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.cli.train import StopSignals
from napari_neurorbm.configs import TrainConfig
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.sweep.cluster import DEVICES
from napari_neurorbm.sweep.driver import AUTOSAVE_MINUTES, iter_sweep
from napari_neurorbm.sweep.folder import PER_RUN, TABLE_FILE, SweepFolder, SweepPlan
from napari_neurorbm.sweep.summary import summary_text


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="train many RBMs (N_h x seeds x learning rates x rasters) on Dask into a sweep folder",
        description=(
            "Train one RBM per combination of raster, number of hidden units, seed and learning rate (and, "
            "with --halves, half of the training frames), each like neurorbm train, on Dask: an embedded "
            "local cluster (one worker per core, or per GPU) or an existing scheduler (--scheduler). Each "
            "run writes SWEEP_DIR/runs/<name>.npz (autosaved while it trains) and a row of "
            "SWEEP_DIR/runs.csv; rerunning the same command skips the finished runs and continues the others "
            "from their files. See docs/sweeps.md."
        ),
    )
    p.add_argument("rasters", nargs="+", metavar="RASTER.npz", help="binned rasters (neurorbm binarize)")
    p.add_argument("--hidden", required=True, metavar="N,N,...", help="numbers of hidden units, e.g. 8,16,32")
    p.add_argument("--seeds", default="0", metavar="S,S,...", help="seeds of the runs (default 0)")
    p.add_argument("--lr", metavar="X,X,...", help=f"learning rates (default {TrainConfig.lr:g})")
    p.add_argument("--halves", action="store_true",
                   help="train each configuration twice, on each half of the training frames (alternate "
                        "blocks of the recording in time), for reliability estimates; same test frames")
    add_config_options(p, TrainConfig, skip=(*PER_RUN, "device"))
    p.add_argument("--out", required=True, metavar="SWEEP_DIR", help="the sweep folder (made if new)")
    p.add_argument("--workers", type=int, metavar="K",
                   help="workers of the embedded cluster (default: one per GPU, else one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the existing Dask scheduler at ADDRESS (e.g. tcp://host:8786, or the JSON "
                        "file of dask scheduler --scheduler-file); SWEEP_DIR and the rasters must then be on "
                        "a file system that every worker reaches")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where each run trains: auto (a GPU when the worker has one), cpu or cuda")
    p.add_argument("--autosave-minutes", type=float, default=AUTOSAVE_MINUTES, metavar="X",
                   help="rewrite each run's file every X minutes of training, so that a dead worker or a "
                        f"kill loses at most that much (default {AUTOSAVE_MINUTES:g}; 0 = off)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    autosave = check_minutes(args.autosave_minutes, "--autosave-minutes")
    folder = SweepFolder.create(_out_folder(args.out), _plan(args))
    job = iter_sweep(folder, scheduler=args.scheduler, workers=args.workers, device=args.device,
                     autosave_minutes=autosave)
    stop = StopSignals()
    with stop, ProgressLine() as show:
        table = _drive(job, show, stop)
    if table is None:
        table = folder.table()
        print(f"neurorbm sweep: stopped by {stop.name}: {(table['status'] == 'done').sum()} of {len(table)} "
              "runs done, the others keep their files; run the same command again to continue",
              file=sys.stderr)
        return stop.exit_status
    print(summary_text(folder))
    print(f"wrote    {folder.path / TABLE_FILE} and the model files in {folder.path / 'runs'}")
    failed = table[table["status"] == "failed"]
    if len(failed):
        first = failed.iloc[0]
        raise NeuroRBMError(f"{len(failed)} of {len(table)} runs failed (see {TABLE_FILE}); "
                            f"{first['name']}: {first['message']}")
    return 0


def _plan(args: argparse.Namespace) -> SweepPlan:
    lrs = _numbers(args.lr, "--lr", float) if args.lr is not None else (TrainConfig.lr,)
    rasters = tuple(str(Path(r).expanduser().resolve()) for r in args.rasters)  # workers may run elsewhere
    return SweepPlan(rasters, _numbers(args.hidden, "--hidden", int), _numbers(args.seeds, "--seeds", int),
                     lrs, args.halves, config_from_args(args, TrainConfig()))


def _numbers(text: str, option: str, kind: type) -> tuple:
    """A comma-separated list of numbers; an empty or unreadable one is a one-line error."""
    try:
        values = tuple(kind(t) for t in text.split(",") if t.strip())
    except ValueError:
        values = ()
    if not values:
        what = "integers, e.g. 8,16,32" if kind is int else "numbers, e.g. 1.6,0.8"
        raise NeuroRBMError(f"{option} needs a comma-separated list of {what}; got '{text}'")
    return values


def _out_folder(out: str) -> Path:
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise NeuroRBMError(f"--out {out} is a file; give a folder for the sweep")
    return path


def _drive(job: Generator[Progress, None, pd.DataFrame], show: ProgressLine,
           stop: StopSignals) -> pd.DataFrame | None:
    """Run the sweep with its progress shown; on a signal, close it (the runs save and stop). Returns the
    final table, or None when a signal stopped the sweep."""
    while True:
        try:
            p = next(job)
        except StopIteration as end:
            return end.value
        show(p)
        if stop.signum is not None:
            job.close()
            return None
