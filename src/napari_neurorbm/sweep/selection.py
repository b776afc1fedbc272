"""Model selection over a sweep (the paper's Fig. 2): each run's train and test log-likelihood along its
updates and the maximum of its test LL; per raster, learning rate and N_h the best test LL over seeds (and
halves); and the N_h to choose.

A run's *best test LL* is the one its model selection reported (the table's ``best_test_ll``: a longer AIS
or PTT of the selected model) once it is done, else the maximum of its test-LL curve so far, so that a
running sweep can be watched. The choice follows the paper: the test LL of a small model saturates at a
plateau that rises with N_h, a model too large for the data overfits (its test LL peaks, then falls). A run
*falls back* by the share of what its test LL gained (from its first evaluation to its peak) that it has
lost again at its last evaluation, both read on the curve smoothed over a few evaluations; a size overfits
when its runs fall back by more than ``tolerance`` on average. Among the sizes that do not, the one of
highest mean best test LL is chosen; when every size overfits, the highest of all. A share, not nats: live
AIS estimates scatter by some hundredths of a nat per frame while a curve rises by nats, so the noise of a
plateau stays far below a share of 2 %, whatever the recording's scale.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from napari_neurorbm.progress import Progress, drain
from napari_neurorbm.sweep.folder import STATUSES, SweepFolder

GROUP = ["raster", "lr"]  # a choice of N_h is made per raster and learning rate
OVERFIT_SHARE = 0.02  # a test LL that loses this share of its rise after its peak is overfitting
COUNTED = ("running", "done")  # runs whose best test LL counts (a running run's: its best so far)
SMOOTH = 3  # evaluations averaged where a run's fall after its peak is measured
WATCH_S = 3.0  # a running sweep's folder is read again at most this often


@dataclass(frozen=True)
class RunCurve:
    """One run's evaluations along training, in order: update, train LL and test LL (nats/frame; NaN where
    a value is missing)."""

    name: str
    n_hidden: int
    updates: np.ndarray
    train_ll: np.ndarray
    test_ll: np.ndarray

    @property
    def peak(self) -> tuple[int, float] | None:
        """(update, test LL) of the maximum of the test LL (the paper's star), None without a test LL."""
        finite = np.flatnonzero(np.isfinite(self.test_ll))
        if not len(finite):
            return None
        i = finite[np.argmax(self.test_ll[finite])]
        return int(self.updates[i]), float(self.test_ll[i])

    @property
    def drop(self) -> float:
        """How far the (smoothed) test LL ends below its highest (nats/frame, >= 0; NaN without one)."""
        smooth = self._smoothed()
        return float(smooth.max() - smooth[-1]) if len(smooth) else float("nan")

    @property
    def rise(self) -> float:
        """How far the (smoothed) test LL's highest lies above the first evaluation (nats/frame)."""
        smooth = self._smoothed()
        return float(smooth.max() - self.test_ll[np.isfinite(self.test_ll)][0]) if len(smooth) else np.nan

    @property
    def fall(self) -> float:
        """The share of its rise that the test LL has lost again at the end, :attr:`drop` / :attr:`rise`:
        overfitting (0 on a plateau or a rising curve; infinite for a curve that only fell; NaN without a
        test LL)."""
        drop, rise = self.drop, self.rise
        if not drop > 0:
            return drop
        return drop / rise if rise > 0 else float("inf")

    def _smoothed(self) -> np.ndarray:
        """The test LL's values, as a running mean over ``SMOOTH`` evaluations when there are at least twice
        as many: one noisy AIS estimate then neither makes a peak nor hides the fall after one."""
        finite = self.test_ll[np.isfinite(self.test_ll)]
        if len(finite) < 2 * SMOOTH:
            return finite
        return np.convolve(finite, np.full(SMOOTH, 1 / SMOOTH), mode="valid")


@dataclass(frozen=True)
class Selection:
    """What a sweep folder says about model selection.

    ``runs``: the table of runs (:meth:`SweepFolder.table`) plus ``peak_update``, ``peak_test_ll`` (the
    curve's maximum), ``drop`` and ``fall`` (:class:`RunCurve`'s) and ``best`` (the run's best test LL, see
    the module's docstring). ``curves``: name -> RunCurve of every run with a model file. ``sizes``: one row
    per raster, learning rate and N_h (``mean``, ``spread``: standard deviation over the runs, NaN for one
    run, ``n`` runs, mean ``fall``, ``overfits``). ``chosen``: one row per raster and learning rate
    (``n_hidden``, ``mean``, ``spread``, ``n`` and ``reason``, a sentence)."""

    folder: Path
    runs: pd.DataFrame
    curves: dict[str, RunCurve]
    sizes: pd.DataFrame
    chosen: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Runs per status (every status of the folder's contract, 0 when none)."""
        found = self.runs["status"].value_counts()
        return {s: int(found.get(s, 0)) for s in STATUSES}


def iter_read_selection(folder: SweepFolder | str | Path, tolerance: float = OVERFIT_SHARE
                        ) -> Generator[Progress, None, Selection]:
    """Read a sweep folder's table and every run's log-likelihood history (one progress record per model
    file read) and make the :class:`Selection`."""
    folder = folder if isinstance(folder, SweepFolder) else SweepFolder.open(folder)
    table = folder.table()
    names = [n for n in table.index if folder.model_path(n).exists()]
    curves = {}
    for i, name in enumerate(names):
        curves[name] = _curve(name, int(table.at[name, "n_hidden"]), folder.history(name))
        yield Progress("read", i + 1, len(names), f"read {i + 1}/{len(names)} runs of {folder.path.name}")
    runs = run_values(table, curves)
    sizes = size_summary(runs, tolerance)
    return Selection(folder.path, runs, curves, sizes, choose_sizes(sizes, tolerance))


def read_selection(folder: SweepFolder | str | Path, tolerance: float = OVERFIT_SHARE) -> Selection:
    """:func:`iter_read_selection` run to its end."""
    return drain(iter_read_selection(folder, tolerance))


def iter_watch(sweep: Generator[Progress, None, object], folder: SweepFolder, every_s: float = WATCH_S,
               tolerance: float = OVERFIT_SHARE) -> Generator[Progress, None, Selection]:
    """Run a sweep job on ``folder`` and pass its progress on, with the folder's :class:`Selection` as the
    payload of a record at its start and then at most every ``every_s`` seconds (read here, on the job's
    thread, not where it is drawn); returns the final Selection. Closing this job closes the sweep's."""
    last = -float("inf")
    try:
        for p in sweep:
            if time.monotonic() - last >= every_s:
                payload, last = read_selection(folder, tolerance), time.monotonic()
            else:
                payload = None
            yield Progress(p.stage, p.done, p.total, p.message, payload=payload)
    finally:
        sweep.close()
    return read_selection(folder, tolerance)


def _curve(name: str, n_hidden: int, history: pd.DataFrame) -> RunCurve:
    cols = [pd.to_numeric(history[c], errors="coerce").to_numpy(float)
            for c in ("update", "train_ll", "test_ll")]
    return RunCurve(name, n_hidden, *cols)


def run_values(table: pd.DataFrame, curves: dict[str, RunCurve]) -> pd.DataFrame:
    """The table of runs with each run's peak (update and test LL of the curve's maximum), drop, fall and
    best test LL (NaN for runs that do not count: pending, failed, or without a test LL yet)."""
    runs = table.copy()
    peaks = {name: c.peak for name, c in curves.items()}
    runs["peak_update"] = [np.nan if peaks.get(n) is None else peaks[n][0] for n in runs.index]
    runs["peak_test_ll"] = [np.nan if peaks.get(n) is None else peaks[n][1] for n in runs.index]
    runs["drop"] = [curves[n].drop if n in curves else np.nan for n in runs.index]
    runs["fall"] = [curves[n].fall if n in curves else np.nan for n in runs.index]
    reported = pd.to_numeric(runs["best_test_ll"], errors="coerce")
    done = runs["status"].eq("done") & np.isfinite(reported)
    best = reported.where(done, runs["peak_test_ll"])
    runs["best"] = best.where(runs["status"].isin(COUNTED)).astype(float)
    return runs


def size_summary(runs: pd.DataFrame, tolerance: float = OVERFIT_SHARE) -> pd.DataFrame:
    """Per raster, learning rate and N_h over the runs that count: mean and spread (standard deviation) of
    the best test LL, the number of runs, the mean fall and whether the size overfits (a mean fall above
    ``tolerance``)."""
    counted = runs[np.isfinite(runs["best"])]
    columns = [*GROUP, "n_hidden", "mean", "spread", "n", "fall", "overfits"]
    if counted.empty:
        return pd.DataFrame(columns=columns)
    grouped = counted.groupby([*GROUP, "n_hidden"], sort=False)
    sizes = grouped.agg(mean=("best", "mean"), spread=("best", "std"), n=("best", "size"),
                        fall=("fall", "mean")).reset_index()
    sizes["overfits"] = sizes["fall"] > tolerance
    order = {r: i for i, r in enumerate(dict.fromkeys(runs["raster"]))}  # the plan's raster order
    sizes = sizes.sort_values(["raster", "lr", "n_hidden"], key=lambda s: s.map(order) if s.name == "raster"
                              else s, ignore_index=True)
    return sizes[columns]


def choose_sizes(sizes: pd.DataFrame, tolerance: float = OVERFIT_SHARE) -> pd.DataFrame:
    """Per raster and learning rate, the N_h to choose (see the module's docstring) and why, in words."""
    rows = []
    for (raster, lr), group in sizes.groupby(GROUP, sort=False):
        stable = group[~group["overfits"].astype(bool)]
        among = stable if len(stable) else group
        pick = among.loc[among["mean"].idxmax()]
        rows.append({"raster": raster, "lr": lr, "n_hidden": int(pick["n_hidden"]), "mean": pick["mean"],
                     "spread": pick["spread"], "n": int(pick["n"]),
                     "reason": _reason(pick, group, stable, tolerance)})
    return pd.DataFrame(rows, columns=[*GROUP, "n_hidden", "mean", "spread", "n", "reason"])


def _reason(pick: pd.Series, group: pd.DataFrame, stable: pd.DataFrame, tolerance: float) -> str:
    spread = "" if not np.isfinite(pick["spread"]) else f" ± {pick['spread']:.4f}"
    runs = "1 run" if pick["n"] == 1 else f"{int(pick['n'])} runs"
    head = f"N_h = {int(pick['n_hidden'])}: best test LL {pick['mean']:.4f}{spread} nats/frame ({runs})"
    overfit = ", ".join(str(int(h)) for h in group.loc[group["overfits"].astype(bool), "n_hidden"])
    falls = f"test LL falls back by more than {tolerance:.0%} of its rise"
    if not overfit:
        return f"{head}, the highest; no size's test LL falls after its peak (saturating or still rising)"
    if len(stable):
        return (f"{head}, the highest of the sizes whose test LL does not fall after its peak; N_h = "
                f"{overfit} overfit ({falls})")
    return f"{head}, the highest; every size overfits ({falls})"


def focus_range(curves: Iterable[RunCurve], share: float = 0.05) -> tuple[float, float] | None:
    """The log-likelihood range a plot of ``curves`` shows: from the ``share`` quantile of the train and test
    LL after update 0 (the first steep evaluations would squeeze the plateaus, where the stars are, into a
    strip) to the highest value; None with nothing to show."""
    values = [ll[c.updates > 0] for c in curves for ll in (c.train_ll, c.test_ll)]
    every = np.concatenate(values or [np.zeros(0)])
    every = every[np.isfinite(every)]
    if not len(every):
        return None
    return float(np.quantile(every, share)), float(every.max())


def size_colors(sizes: Iterable[int]) -> dict[int, tuple[float, float, float, float]]:
    """RGBA (0-1) per N_h, by rank along a colour map that reads on dark and light backgrounds (the dock's
    and the report's), so that the dock and the report colour a sweep alike."""
    from matplotlib import colormaps

    ordered = sorted({int(h) for h in sizes})
    cmap = colormaps["turbo"]
    spots = np.linspace(0.1, 0.9, len(ordered)) if len(ordered) > 1 else [0.1]
    return {h: tuple(float(x) for x in cmap(s)) for h, s in zip(ordered, spots, strict=True)}
