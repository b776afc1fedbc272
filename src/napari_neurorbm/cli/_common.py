"""What every subcommand shares: progress on stderr (tqdm) and the check of an --out file name."""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path
from time import monotonic
from typing import TypeVar

from tqdm import tqdm

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain

T = TypeVar("T")
LOG_EVERY_S = 30.0  # the longest silence in a log (stderr not a terminal) while a job makes progress
BIG = 10_000  # totals from which counts and rates are shown as 1.5M, 52.1Mit/s


def out_path(out: str) -> Path:
    """The --out file as a Path; a folder or a missing parent folder is a one-line error."""
    path = Path(out).expanduser()
    if path.is_dir():
        raise NeuroRBMError(f"--out {out} is a folder; give a file name such as raster.npz")
    if not path.parent.is_dir():
        raise NeuroRBMError(f"--out {out}: the folder {path.parent} does not exist")
    return path


def run_shown(job: Generator[Progress, None, T], announce_stages: bool = False) -> T:
    """Run a job to its end with its progress on stderr, and close the progress however the job ends."""
    with ProgressLine(announce_stages) as show:
        return drain(job, show)


class ProgressLine:
    """A job's progress on stderr through tqdm.

    On a terminal: one tqdm bar per stage, redrawn in place. In a log (stderr redirected), where redrawing
    makes no sense: a tqdm status line whenever LOG_EVERY_S seconds have passed since the last line (or the
    start), and the last line of a stage that had one; a short job prints nothing, so that an error stays the
    only line. With ``announce_stages``, a log also gets a line as each stage begins.
    """

    def __init__(self, announce_stages: bool = False) -> None:
        self.tty = sys.stderr.isatty()
        self.announce_stages = announce_stages
        self._bar: tqdm | None = None
        self._stage: str | None = None
        self._stage_start = self._last_line = monotonic()
        self._stage_logged = False

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, p: Progress) -> None:
        if p.stage != self._stage:
            self._new_stage(p)
        if self.tty:
            self._draw(p)
        elif self._log_due(p):
            self._log(p)

    def close(self) -> None:
        """End the current bar (its line stays on the terminal)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _new_stage(self, p: Progress) -> None:
        self.close()
        self._stage, self._stage_start, self._stage_logged = p.stage, monotonic(), False
        if self.tty:
            self._bar = tqdm(total=p.total or None, desc=p.stage, file=sys.stderr, dynamic_ncols=True,
                             unit_scale=p.total >= BIG)
        elif self.announce_stages:
            self._log(p)

    def _draw(self, p: Progress) -> None:
        self._bar.set_postfix_str(p.message, refresh=False)
        self._bar.update(p.done - self._bar.n)

    def _log_due(self, p: Progress) -> bool:
        """In a log: LOG_EVERY_S seconds since the last line, or the end of a stage that had a line."""
        return monotonic() - self._last_line >= LOG_EVERY_S or (p.done >= p.total and self._stage_logged)

    def _log(self, p: Progress) -> None:
        now = monotonic()
        line = tqdm.format_meter(p.done, p.total or None, now - self._stage_start, prefix=p.stage,
                                 postfix=p.message or None, ascii=True, unit_scale=p.total >= BIG)
        print(line, file=sys.stderr, flush=True)
        self._last_line, self._stage_logged = now, p.done < p.total  # a stage's last line is logged once


def add_results_options(parser, out_metavar: str, out_help: str, *, out_required: bool) -> None:
    """An analysis command's outputs: --out (its curves as a CSV) and --json (its headline numbers)."""
    parser.add_argument("--out", required=out_required, metavar=out_metavar, help=out_help)
    parser.add_argument("--json", action="store_true", help="print the headline numbers as one JSON object")


def print_results(args, summary: dict, text: str) -> None:
    """The headline numbers as one JSON object with --json, else the sentence ``text``."""
    import json

    print(json.dumps(summary) if args.json else text)
