"""analysis/suite.py: the analyses as jobs on a raster and its model (what the commands, the report and the
dock share): which spectra, with which settings, progress, and the one-line answers to bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_neurorbm.analysis import suite
from napari_neurorbm.analysis.heat import HeatCurve
from napari_neurorbm.analysis.spectrum import spectrum_of
from napari_neurorbm.atomic import write_csv
from napari_neurorbm.configs import DMDConfig, MultiInfoConfig, SpectrumConfig
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import drain
from napari_neurorbm.rbm.model import RBM


@pytest.fixture(scope="module")
def raster():
    session, _ = make_synthetic(n_areas=2, units_per_area=12, duration_s=120.0, seed=1)
    return binarize(session, BinningParams(seed=0))


def test_spectra_of_the_recording_controls_generated_and_areas_with_one_first_rank(raster):
    generated = dataclasses.replace(raster, counts=raster.counts[:, ::-1].copy())
    cfg = SpectrumConfig(block_ms=40.0, first_rank=2, min_area_units=12)
    records = []
    spectra = drain(suite.iter_spectra(raster, cfg, generated), records.append)
    assert list(spectra) == ["recording", "time_shuffled", "independent", "generated", "area:VISl",
                             "area:VISp"]
    assert [p.message for p in records[:-1]] == list(spectra) and records[-1].done == records[-1].total == 6
    visp = spectrum_of(suite.activity(raster)[:, raster.areas == "VISp"], 2, raster.segment_starts, first=2)
    np.testing.assert_allclose(spectra["area:VISp"].variance, visp.variance)
    assert all(s.ranks[0] == 2 for s in spectra.values())  # the areas are fitted from the same rank
    summary = suite.spectra_summary(spectra, raster.n_units)
    assert summary["units"] == 24 and summary["alpha"]["generated"] == spectra["generated"].alpha


def test_dmd_of_the_recording_alone_and_its_table(raster):
    results = drain(suite.iter_dmd(raster, DMDConfig(pcs=4)))
    table = suite.dmd_table(results)
    assert list(results) == ["recording"] and len(table) == 4 and set(table["source"]) == {"recording"}
    assert suite.dmd_summary(results)["pcs"] == 4


def test_a_model_of_other_units_is_one_line(raster):
    rbm = RBM.from_numpy(np.zeros((5, 2)), np.zeros(5), np.zeros(2))
    with pytest.raises(NeuroRBMError, match="the model has 5 visible units, the raster 24"):
        drain(suite.iter_multiinfo(raster, MultiInfoConfig(group_size=4, groups=2), rbm))


def test_heat_summary_has_no_value_at_t1_off_the_grid():
    curve = HeatCurve(np.array([1.5, 2.0, 2.5]), np.array([0.2, 0.5, 0.1]), "exact")
    assert suite.heat_summary(curve, 7) == {"peak_T": 2.0, "peak_C": 0.5, "peak_C_stderr": None,
                                            "C_at_T1": None, "method": "exact", "units": 7}
    assert suite.heat_summary(HeatCurve(np.array([0.5, 1.5]), np.array([0.2, 0.4]), "exact"), 7)["C_at_T1"] \
        == pytest.approx(0.3)


def test_a_table_that_cannot_be_written_is_one_line(tmp_path):
    with pytest.raises(NeuroRBMError, match="cannot write"):
        table = suite.heat_table(HeatCurve(np.ones(2), np.ones(2), "exact"))
        write_csv(tmp_path / "a" / "t", table, index=False)
