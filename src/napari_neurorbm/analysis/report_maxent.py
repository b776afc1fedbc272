"""The report's pairwise max-ent page: the pairwise maximum-entropy model of the raster's training frames
(:mod:`.baseline`) with light settings, so that it adds seconds to the report, beside independent units and
the report's RBM: test log-likelihoods per frame, the share of the RBM's gain, and the moments check.
matplotlib's Agg canvas only."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from napari_neurorbm.analysis.baseline import DRAWN_PAIRS, MaxEntResult, agreement_text
from napari_neurorbm.configs import MaxEntConfig
from napari_neurorbm.rbm.model import RBM

# the pseudolikelihood fit alone (to convergence: a few iterations can leave couplings far off) on at most
# 20 000 training frames, short chains and AIS runs (`neurorbm maxent` adds moment matching)
MAXENT = MaxEntConfig(frames=20_000, updates=0, chains=200, ais_chains=100, ais_betas=200)
WHAT = (f"The pairwise maximum-entropy model (Schneidman et al. 2006; paper 004) of all units, fitted to the "
        f"training frames (at most {MAXENT.frames}, evenly spaced) by pseudolikelihood, its L2 penalty the "
        "one that best predicts held-out training frames (`neurorbm maxent` adds moment matching): the mean "
        "log-likelihood per test frame of independent units, of the pairwise model and of the RBM, as gains "
        "over independent units, with the share of the RBM's gain the pairwise model captures; log Z exact "
        f"up to 20 units, else by AIS ({MAXENT.ais_chains} chains x {MAXENT.ais_betas} temperatures). Right: "
        "the moments check, the model's pair covariances against the training frames' (r and the slope of "
        "model on data).")


def maxent_page(result: MaxEntResult, rbm: RBM):
    """Gains over independent units (bars) beside the model's pair covariances against the data's."""
    from napari_neurorbm.analysis.report_pages import SERIES  # the report's colours (it imports this module)

    colours = {"independent": SERIES["independent"], "pairwise": SERIES["pairwise"],
               "RBM": SERIES["generated"]}
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    bars, scatter = fig.subplots(1, 2, width_ratios=(1, 1.1))
    table = result.table()
    rows = np.arange(len(table))[::-1]
    gains = table["gain_over_independent"].to_numpy()
    bars.barh(rows, gains, color=[colours[m] for m in table["model"]], height=0.6)
    for y, ll, gain in zip(rows, table["test_ll"], gains, strict=True):
        bars.annotate(f" {ll:.3f}", (max(gain, 0), y), va="center", fontsize="small")
    bars.set_yticks(rows, table["model"])
    low, high = min(0, gains.min()), max(0, gains.max())
    bars.set_xlim(low, high + 0.3 * max(high - low, 1e-3))  # room for the labels
    bars.axvline(0, color="0.5", lw=0.5)
    bars.set_xlabel("test log-likelihood gain over independent units (nats per frame)")
    share = "" if result.share is None else f"\npairwise: {result.share:.2f} of the RBM's gain"
    bars.set_title(f"test log-likelihood, {result.n_test} test frames{share}", loc="left")
    data, model = result.covariances(DRAWN_PAIRS)
    scatter.plot(data, model, ".", ms=2, alpha=0.4, color=colours["pairwise"])
    ends = [min(data.min(), model.min()), max(data.max(), model.max())]
    scatter.plot(ends, ends, ":", color="0.4", lw=1)
    scatter.set_title(f"moments check{agreement_text(result.moments_agreement(), ', ')}", loc="left")
    scatter.locator_params(axis="x", nbins=5)  # tick labels of small numbers are long
    scatter.set_xlabel("pair covariance, training frames")
    scatter.set_ylabel(f"pair covariance, model ({result.moments_method})")
    return fig, table, result.summary()
