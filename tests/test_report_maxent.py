"""The report's pairwise max-ent page: its figure, its table and its numbers are the core's on the same
input and settings (16 units: log Z and moments enumerated). `neurorbm report` with every page:
test_cli_sample.py."""

from __future__ import annotations

import pandas as pd

from napari_neurorbm.analysis.baseline import iter_maxent
from napari_neurorbm.analysis.report_maxent import MAXENT
from napari_neurorbm.analysis.report_pages import ANALYSES, TITLES, iter_pages, pages_html
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.io import load_model
from synthetic_model import one_torch_thread, recording_and_model  # noqa: F401 (a fixture)


def test_the_page_holds_the_cores_numbers(tmp_path):
    _, raster, path = recording_and_model(tmp_path, n_areas=2, units_per_area=8)
    rbm = load_model(path).rbm
    pages = drain(iter_pages(rbm, raster, raster, tmp_path, ("maxent",)))
    page = pages[0]
    assert "maxent" in ANALYSES and not page.note and page.image == "maxent.png"
    assert (tmp_path / "maxent.png").stat().st_size > 10_000
    core = drain(iter_maxent(raster, MAXENT, rbm))
    timeless = {k: v for k, v in core.summary().items() if not k.endswith("_seconds")}
    assert {k: page.numbers[k] for k in timeless} == timeless
    assert page.numbers["updates"] == 0 and page.numbers["rbm_test_ll"] is not None
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "maxent.csv"), core.table())
    html = pages_html(pages)
    assert f"<h2 id='maxent'>{TITLES['maxent']}</h2>" in html and "share_of_rbm_gain" in html

