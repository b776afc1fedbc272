"""The numbers behind the QC dock, against hand-counted answers, and the dock drawing them."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import save_widget_grab
from napari_neurorbm._qt.qc_data import qc_summary
from napari_neurorbm._qt.qc_plots import QCPanel, log_ticks
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.session import Session

# unit 0 (VISp): 4 spikes, three in the first 20 ms; unit 1 (CA1): one spike; a silent unit 2 (CA1)
TRAINS = [np.array([0.001, 0.003, 0.012, 0.05]), np.array([0.021]), np.array([])]


def spike_session() -> Session:
    return Session(
        name="tiny",
        source="test",
        unit_ids=np.array([10, 11, 12]),
        areas=np.array(["VISp", "CA1", "CA1"]),
        start_s=0.0,
        stop_s=0.1,
        spike_times=np.concatenate(TRAINS),
        spike_index=np.cumsum([0, *map(len, TRAINS)]),
    )


def test_qc_numbers_of_a_spike_session_match_hand_counts() -> None:
    session = spike_session()
    raster = binarize(session, BinningParams(bin_ms=20.0, test_fraction=0.0))
    qc = qc_summary(raster, session)
    assert qc.n_units == 2 and qc.n_source_units == 3 and qc.bin_ms == pytest.approx(20.0)
    assert qc.rates_hz["VISp"] == pytest.approx([40.0]) and qc.rates_hz["CA1"] == pytest.approx([10.0])
    np.testing.assert_array_equal(qc.active_per_frame, [1, 1, 1, 0, 0])
    # bins with a spike / (units x bins): 5 ms 4/40, 10 ms 4/20, 20 ms 3/10, 50 ms 3/4, 100 ms 2/2
    np.testing.assert_allclose(qc.mean_activity, [0.1, 0.2, 0.3, 0.75, 1.0])
    assert qc.merged_fraction == pytest.approx(1 - 3 / 5)
    assert qc.filter_report == [("no spike in window", 1)]


def test_binned_sessions_are_re_binned_by_whole_multiples_only() -> None:
    counts = np.zeros((2, 40), np.uint8)
    counts[0, [0, 1, 5]] = 1
    counts[1, [10]] = 2
    areas = np.array(["LGd", "LGd"])
    session = Session("b", "t", np.arange(2), areas, start_s=0.0, stop_s=0.4, counts=counts, bin_s=0.01)
    raster = binarize(session, BinningParams(bin_ms=None, test_fraction=0.0))
    qc = qc_summary(raster, session)
    assert np.isnan(qc.mean_activity[0])  # 5 ms is finer than the 10 ms bins
    np.testing.assert_allclose(qc.mean_activity[1:], [4 / 80, 3 / 40, 3 / 16, 2 / 8])
    assert qc.merged_fraction == pytest.approx(1 - 4 / 5)


def test_log_ticks_are_round_numbers() -> None:
    assert [label for _, label in log_ticks(0.3, 8)] == ["0.2", "0.5", "1", "2", "5", "10"]
    assert [label for _, label in log_ticks(0.01, 50)] == ["0.01", "0.1", "1", "10"]
    assert [label for _, label in log_ticks(1e-21, 0.3)] == ["1e-20", "1e-16", "1e-12", "1e-08",
                                                             "0.0001"]  # every 4th power of 22: 6 at most


@pytest.mark.gui
def test_panel_redraws_when_the_raster_changes(make_napari_viewer, qtbot, screenshot_dir) -> None:
    viewer = make_napari_viewer()
    panel = QCPanel(viewer)
    qtbot.addWidget(panel)
    panel.resize(1500, 300)
    panel.show()
    state = get_state(viewer)
    session = spike_session()
    state.session = session
    with qtbot.waitSignal(panel.updated, timeout=20_000):
        state.raster = binarize(session, BinningParams(bin_ms=20.0, test_fraction=0.0))
    assert "2 of 3 units kept" in panel.summary.text() and "40.0% of spikes" in panel.summary.text()
    x, _ = panel.widths.listDataItems()[0].getData()
    np.testing.assert_allclose(10**x, [5, 10, 20, 50, 100])  # log axis holds log10 of the widths
    assert panel._columns == 5  # wide dock: the five plots in one row
    assert not panel.events.row.isVisible()  # no events: no choice of them
    qtbot.wait(200)
    save_widget_grab(panel, screenshot_dir, "qc_panel_tiny_session")


@pytest.mark.gui
def test_a_result_arriving_after_the_panel_closed_is_dropped(make_napari_viewer, qtbot, monkeypatch) -> None:
    import threading

    from napari_neurorbm._qt import qc_data

    release = threading.Event()
    calls = []

    def held_summary(raster, session):
        release.wait(10)
        calls.append(raster)
        return qc_summary(raster, session)

    monkeypatch.setattr(qc_data, "qc_summary", held_summary)
    viewer = make_napari_viewer()
    panel = QCPanel(viewer)
    state = get_state(viewer)
    session = spike_session()
    state.session = session
    state.raster = binarize(session, BinningParams(bin_ms=20.0, test_fraction=0.0))
    worker = panel.runner.worker
    panel.deleteLater()
    qtbot.wait(50)  # the panel and its plots are gone; the summary is still being computed
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        release.set()
    qtbot.wait(100)  # a queued result would be delivered here, to the deleted plots
    assert len(calls) == 1


@pytest.mark.gui
@pytest.mark.parametrize("width", [480, 620])
def test_no_plot_is_cut_at_the_right_edge_of_a_narrow_dock(make_napari_viewer, qtbot, width) -> None:
    panel = QCPanel(make_napari_viewer())
    qtbot.addWidget(panel)
    panel.resize(width, 700)
    panel.show()
    qtbot.wait(50)
    view = panel.plots.width()
    for plot in (panel.rates, panel.active, panel.widths, panel.filters):
        assert plot.sceneBoundingRect().right() <= view + 1, f"{plot.titleLabel.text} is cut"
