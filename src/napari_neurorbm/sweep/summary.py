"""A sweep's results at a glance, for a terminal: runs per status, the best test log-likelihood per raster,
learning rate and N_h with its spread over seeds and halves, and the N_h that model selection chooses (the
numbers of the paper's Fig. 2, from :mod:`.selection`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from napari_neurorbm.sweep.folder import SweepFolder
from napari_neurorbm.sweep.selection import read_selection


def summary_text(folder: SweepFolder) -> str:
    """What ``neurorbm sweep`` prints at its end (nats per frame)."""
    selection = read_selection(folder)
    counts = selection.counts()
    head = (f"{counts['done']} of {len(selection.runs)} runs done"
            + "".join(f", {counts[s]} {s}" for s in ("failed", "pending", "running") if counts[s]))
    if selection.sizes.empty:
        return head
    sizes = selection.sizes.assign(raster=[Path(r).stem for r in selection.sizes["raster"]])
    baseline = selection.runs.assign(raster=[Path(r).stem for r in selection.runs["raster"]])
    independent = pd.to_numeric(baseline["independent_test_ll"], errors="coerce").groupby(baseline["raster"])
    sizes["independent"] = sizes["raster"].map(independent.mean())
    body = sizes.drop(columns="fall").to_string(index=False, float_format=lambda x: f"{x:.4f}", na_rep="-")
    chosen = "\n".join(f"chosen for {Path(c.raster).stem} (lr {c.lr:g}): {c.reason}"
                       for c in selection.chosen.itertuples())
    return f"{head}\nbest test log-likelihood over seeds and halves:\n{body}\n{chosen}"
