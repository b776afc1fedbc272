"""A sweep's results at a glance: the best test log-likelihood per raster and N_h, with its spread over the
replicate runs (seeds, halves): the numbers behind the paper's model selection (its Fig. 2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Over the done runs of ``table`` (a sweep's table of runs), per raster (file stem), N_h and, when the
    sweep has several, learning rate: how many runs, the mean, standard deviation, minimum and maximum of
    their best test log-likelihood, and the independent-units baseline (nats per frame)."""
    done = table[table["status"] == "done"].copy()
    done["raster"] = [Path(r).stem for r in done["raster"]]
    done["best_test_ll"] = pd.to_numeric(done["best_test_ll"])
    done["independent_test_ll"] = pd.to_numeric(done["independent_test_ll"])
    done["lr"] = [f"{lr:g}" for lr in done["lr"]]
    keys = ["raster", "n_hidden"] + (["lr"] if table["lr"].nunique() > 1 else [])
    groups = done.groupby(keys)
    out = groups["best_test_ll"].agg(runs="count", mean="mean", std="std", min="min", max="max")
    out["independent"] = groups["independent_test_ll"].mean()
    return out


def summary_text(table: pd.DataFrame) -> str:
    """:func:`summarize` as text for a terminal, with a line on the runs that did not finish."""
    counts = table["status"].value_counts()
    head = (f"{counts.get('done', 0)} of {len(table)} runs done"
            + "".join(f", {counts[s]} {s}" for s in ("failed", "pending", "running") if counts.get(s)))
    summary = summarize(table)
    if summary.empty:
        return head
    body = summary.to_string(float_format=lambda x: f"{x:.4f}", na_rep="-")
    return f"{head}\nbest test log-likelihood (nats/frame) over seeds and halves:\n{body}"
