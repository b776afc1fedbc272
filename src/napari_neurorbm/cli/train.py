"""``neurorbm train``: PCD-k training of an RBM on a binned raster, with a progress bar, into a model file.

The run never loses more than ``--autosave-minutes`` of work: the file is rewritten atomically that often,
between two updates; Ctrl-C or SIGTERM stop it at the end of the current update and write the file, so that
``--resume`` continues exactly as if it had never stopped.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.autosave import DEFAULT_MINUTES, Autosave, between_updates, check_minutes
from napari_neurorbm.cli._common import out_path
from napari_neurorbm.cli._options import add_config_options, config_from_args
from napari_neurorbm.data.raster import Raster, read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import load_model
from napari_neurorbm.rbm.training import TrainConfig, Trainer


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="train an RBM on a binned raster (PCD-k) and write a model file",
        description=(
            "Train a binary-binary RBM on the training frames of a binned raster (neurorbm binarize) by "
            "persistent contrastive divergence, with the paper's defaults (128 hidden units, k = 10, "
            "minibatch "
            "2000, 2000 persistent chains). Every --eval-every updates it computes the train and test "
            "log-likelihood and keeps the model of maximal test LL; log-spaced checkpoints are kept for PTT. "
            "The model file (--out) holds the selected model (W, b, c), the checkpoints, the persistent "
            "chains "
            "and JSON metadata (areas, unit ids, bin width, configuration, LL history, split). The file is "
            "rewritten every --autosave-minutes; Ctrl-C or SIGTERM stop at the end of the current update and "
            "write it; --resume continues a run exactly where it stopped."
        ),
    )
    p.add_argument("raster", metavar="RASTER.npz", help="binned raster written by neurorbm binarize")
    add_config_options(p, TrainConfig)
    p.add_argument(
        "--out", metavar="MODEL.npz", help="model file to write (default with --resume: that file)"
    )
    p.add_argument(
        "--resume",
        metavar="MODEL.npz",
        help="continue the run stored in this model file (its last checkpoint, chains and history); "
        "options not given keep the file's values",
    )
    p.add_argument(
        "--autosave-minutes",
        type=float,
        default=DEFAULT_MINUTES,
        metavar="X",
        help="rewrite the --out file every X minutes of wall time while training, so that a crash or kill "
        f"-9 loses at most that much; --resume continues from it (default {DEFAULT_MINUTES:g}; 0 = off)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out is None and args.resume is None:
        raise NeuroRBMError("give --out MODEL.npz (the model file to write)")
    out = out_path(args.out or args.resume)
    autosave = Autosave(out, check_minutes(args.autosave_minutes, "--autosave-minutes"))
    trainer, raster = _trainer(args)
    bar, stop = ProgressBar(), StopSignals()
    resume = f"continue with: neurorbm train {args.raster} --resume {out}"
    try:
        with stop:
            written = trainer.save(out) if _train(trainer, bar, stop, autosave) else None
    except KeyboardInterrupt:  # a second Ctrl-C or SIGTERM: at once, perhaps inside an update
        bar.close()
        kept = "nothing was written" if autosave.update is None else f"{out} holds update {autosave.update}"
        print(f"neurorbm train: stopped at once ({stop.name} twice); {kept}; {resume}", file=sys.stderr)
        return stop.exit_status
    except NeuroRBMError as exc:
        bar.close()
        if not trainer.diverged:
            raise
        written = trainer.save(out)
        raise NeuroRBMError(f"{exc}; wrote {written}") from None
    bar.close()
    if written is not None:
        print(f"neurorbm train: stopped by {stop.name} at update {trainer.update}; wrote {written}; {resume}",
              file=sys.stderr)
        return stop.exit_status
    print(_summary(trainer, raster, trainer.save(out)))
    return 0


def _trainer(args: argparse.Namespace) -> tuple[Trainer, Raster]:
    """A new run, or the run of the --resume file (options not given keep the file's values)."""
    resumed = None if args.resume is None else load_model(args.resume)
    base = TrainConfig() if resumed is None else TrainConfig.from_dict(resumed.metadata.get("config", {}))
    if resumed is not None:
        base = base.replace(n_hidden=resumed.rbm.n_hidden)
    config = config_from_args(args, base).validate()
    raster = read_raster(args.raster, test_fraction=config.test_fraction, seed=config.seed)
    if resumed is None:
        return Trainer.from_raster(raster, config), raster
    check_same_units(resumed, raster, Path(args.raster).name)
    return Trainer.resume(resumed, raster, config), raster


def _train(trainer: Trainer, bar: ProgressBar, stop: StopSignals, autosave: Autosave) -> bool:
    """Run the trainer with a progress bar; between two updates, autosave when due, or end on a signal.
    Returns whether a signal stopped the run before its end."""
    for p in trainer.run():
        bar(p)
        if not between_updates(p):  # inside an evaluation: the update is not over yet
            continue
        if stop.signum is not None:
            return True
        autosave.maybe(trainer)
    return False


class StopSignals:
    """While the run lasts (``with``), Ctrl-C (SIGINT) and SIGTERM ask it to stop at the end of the current
    update, where its state is whole and the file is exact; a second signal raises KeyboardInterrupt at once.
    The previous handlers come back afterwards. Outside the main thread, where Python cannot catch signals,
    nothing is installed."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal as a user knows it: Ctrl-C or SIGTERM (a KeyboardInterrupt from elsewhere: Ctrl-C)."""
        signum = self.signum or signal.SIGINT
        return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as shells report a process stopped by it (130 Ctrl-C, 143 SIGTERM)."""
        return 128 + int(self.signum or signal.SIGINT)


def _summary(trainer: Trainer, raster, written: Path) -> str:
    cfg = trainer.config
    lines = [
        f"trained  {cfg.n_hidden} hidden units on {raster.n_units} units x {trainer.metadata()['n_train']} "
        f"training frames: {trainer.update} updates on {trainer.device}"
    ]
    if trainer.best is not None:
        b = trainer.best
        indep = trainer.metadata()["independent_test_ll"]
        lines.append(
            f"best     update {b.update}: test LL {b.test_ll:.4f}, train LL {b.train_ll:.4f} nats/frame "
            f"(independent units: test LL {indep:.4f})"
        )
    elif trainer.history:
        h = trainer.history[-1]
        lines.append(f"last     update {h['update']}: train LL {h['train_ll']:.4f} nats/frame")
    lines.append(f"wrote    {written} ({len(trainer.checkpoints)} checkpoints)")
    return "\n".join(lines)


class ProgressBar:
    """A plain-text bar on stderr: redrawn in place on a terminal, a line every 10% otherwise."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_decile = -1
        self.last_draw = 0.0
        self.ll = ""
        self.open = False
        self.first: int | None = None
        self.last_stage = ""

    def __call__(self, p: Progress) -> None:
        payload = p.payload if isinstance(p.payload, dict) else {}
        if payload.get("test_ll") is not None:
            self.ll = f"test LL {payload['test_ll']:.3f}"
        elif payload.get("train_ll") is not None:
            self.ll = f"train LL {payload['train_ll']:.3f}"
        now = time.monotonic()
        if self.first is None and p.stage == "train":
            self.first, self.start = p.done, now
        if self.tty:
            if now - self.last_draw < 0.1 and p.done < p.total:
                return
            self.last_draw = now
            print("\r" + self._line(p, now).ljust(100), end="", file=sys.stderr, flush=True)
            self.open = True
        elif p.stage == "train" and int(10 * p.fraction) > self.last_decile:
            self.last_decile = int(10 * p.fraction)
            print(self._line(p, now), file=sys.stderr, flush=True)
        elif p.stage in ("ptt", "select") and self.last_stage != p.stage:  # the final model selection
            what = "model selection: PTT along the checkpoints" if p.stage == "ptt" else p.message
            print(what, file=sys.stderr, flush=True)
        self.last_stage = p.stage

    def _line(self, p: Progress, now: float) -> str:
        if p.stage != "train":
            return f"{p.stage}: {p.message}"[:100]
        filled = int(self.width * p.fraction)
        rate = (p.done - (self.first or 0)) / max(now - self.start, 1e-9)
        gap = (p.payload or {}).get("fe_gap")
        extra = "" if gap is None else f"  F gap {gap:+.3f}"
        bar = "#" * filled + "." * (self.width - filled)
        return f"[{bar}] {p.done}/{p.total}  {rate:.1f} upd/s{extra}  {self.ll}".rstrip()

    def close(self) -> None:
        if self.open:
            print(file=sys.stderr, flush=True)
            self.open = False
