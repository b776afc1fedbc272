"""The report's E/I page: with classes, the light experiment's numbers, figure and P(K) table, and the
report model's couplings by class, each equal to the core's on the same input; without classes, the reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_neurorbm.analysis.couplings import fields_and_couplings
from napari_neurorbm.analysis.ei_couplings import class_couplings
from napari_neurorbm.analysis.ei_experiment import iter_ei_experiment
from napari_neurorbm.analysis.report_ei import EI, TRAIN
from napari_neurorbm.analysis.report_pages import TITLES, iter_pages, pages_html
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.sources import open_source
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.model import RBM
from synthetic_model import one_torch_thread  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def raster_and_model():
    """2 areas x 8 units (a fifth narrow: putative I), 60 s of 20 ms bins, and the ground-truth RBM in the
    raster's rows (the report's model)."""
    session, truth = make_synthetic(n_areas=2, units_per_area=8, duration_s=60.0, seed=3)
    raster = binarize(session, BinningParams(seed=0))
    rows = pd.Index(session.unit_ids).get_indexer(raster.unit_ids)
    return raster, RBM.from_numpy(truth.W[rows], truth.b[rows], truth.c)


def test_the_page_has_the_experiment_and_the_couplings_by_class(raster_and_model, tmp_path) -> None:
    raster, rbm = raster_and_model
    assert set(raster.classes) == {"E", "I"}
    (page,) = drain(iter_pages(rbm, raster, raster, tmp_path, ("ei",)))
    assert not page.note and page.image == "ei.png" and page.table == "ei.csv"
    assert (tmp_path / "ei.png").stat().st_size > 10_000
    core = drain(iter_ei_experiment(raster, TRAIN, EI))
    numbers = json.loads(json.dumps(page.numbers))  # as summary.json holds them
    _, J = fields_and_couplings(*rbm.numpy())
    couplings = class_couplings(J, raster.classes).summary()
    assert numbers == json.loads(json.dumps(core.summary() | {"couplings": couplings}))
    count = {c: int(np.sum(raster.classes == c)) for c in ("E", "I")}
    assert numbers["units"] == count | {"unknown": 0}
    assert sum(numbers["couplings"][t]["n"] for t in ("E-E", "E-I", "I-I")) == 16 * 15 // 2
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ei.csv"), core.table(), check_dtype=False)
    html = pages_html([page])
    assert f"<h2 id='ei'>{TITLES['ei']}</h2>" in html and "src='ei.png'" in html


def test_without_classes_the_page_says_why(raster_and_model, tmp_path) -> None:
    raster, rbm = raster_and_model
    plain = raster.take(np.arange(raster.n_units))
    plain.classes[:] = "unknown"
    (page,) = drain(iter_pages(rbm, plain, plain, tmp_path, ("ei",)))
    assert "no unit has a spike waveform width, so all 16 units are of unknown class" in page.note
    assert "\n" not in page.note and not page.image and not (tmp_path / "ei.png").exists()
    assert "<b>Not computed:</b>" in pages_html([page])


@pytest.mark.real
def test_the_real_retina_has_no_classes_and_its_page_says_so(real_data, tmp_path) -> None:
    raster = binarize(open_source(real_data / "tkacik2014_retina50.npz"), BinningParams(bin_ms=None))
    rbm = RBM.from_numpy(np.zeros((50, 2)), np.zeros(50), np.zeros(2))
    (page,) = drain(iter_pages(rbm, raster, raster, tmp_path, ("ei",)))
    assert "no unit has a spike waveform width, so all 50 units are of unknown class" in page.note
