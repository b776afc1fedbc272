"""The Load dock with the newer sources: an address streamed from a local HTTP server, a SpikeInterface
folder, and the Allen cache's choice between streaming and downloading a session whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from local_http import FileServer
from napari_neurorbm._qt.load_widget import LoadWidget
from napari_neurorbm._qt.raster_layers import layers_of
from napari_neurorbm._qt.state import get_state
from napari_neurorbm.data.allen import PROJECT
from napari_neurorbm.data.synthetic import synthetic_session
from nwb_factory import write_nwb

pytestmark = pytest.mark.gui


@pytest.fixture
def dock(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    widget = LoadWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Load & binarize", area="right")
    return viewer, widget


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A folder with a small NWB file in the Allen layout, served on 127.0.0.1."""
    session = synthetic_session(n_areas=2, units_per_area=10, duration_s=60.0, seed=4)
    root = tmp_path_factory.mktemp("served")
    write_nwb(root / "rec.nwb", [session.spikes_of(u) for u in range(session.n_units)], list(session.areas))
    with FileServer(root) as srv:
        yield srv


def click_load(qtbot, widget: LoadWidget) -> None:
    qtbot.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)


def test_an_address_is_streamed_and_shown(dock, qtbot, served) -> None:
    viewer, widget = dock
    widget.set_source(f"  {served.url}/rec.nwb ")
    assert not widget.session_combo.isEnabled() and not widget.source.download_check.isEnabled()
    click_load(qtbot, widget)
    session = get_state(viewer).session
    assert session.name == "rec" and session.n_units == 20 and layers_of(viewer)
    assert session.source == f"{served.url}/rec.nwb"
    assert all(r is not None for _, r in served.behaviour.requests)  # ranges only


def test_a_missing_address_is_a_one_line_notification(dock, qtbot, served, notifications) -> None:
    viewer, widget = dock
    widget.set_source(f"{served.url}/nothing.nwb")
    click_load(qtbot, widget)
    errors = [n for n in notifications if n.severity == "error"]
    assert len(errors) == 1 and "nothing.nwb: not found on the server (HTTP 404)" in errors[0].message
    assert "\n" not in errors[0].message and not layers_of(viewer)


def test_a_spikeinterface_folder_loads(dock, qtbot, tmp_path) -> None:
    si = pytest.importorskip("spikeinterface.core", reason="spikeinterface is not installed")
    sorting = si.generate_sorting(num_units=5, sampling_frequency=30_000.0, durations=[30.0], seed=2)
    sorting.set_property("brain_area", ["VISp", "VISp", "CA1", "CA1", "LGd"])
    sorting.save(folder=tmp_path / "sorted")
    viewer, widget = dock
    widget.set_source(tmp_path / "sorted")
    click_load(qtbot, widget)
    session = get_state(viewer).session
    assert session.unit_ids.tolist() == list(sorting.unit_ids)
    assert sorted(set(session.areas)) == ["CA1", "LGd", "VISp"]
    np.testing.assert_allclose(session.spikes_of(0), sorting.get_unit_spike_train(sorting.unit_ids[0]) / 30e3)


def test_an_allen_cache_offers_the_whole_download(dock, qtbot, tmp_path) -> None:
    _, widget = dock
    meta = tmp_path / "cache" / f"{PROJECT}-0.5.0" / "project_metadata"
    meta.mkdir(parents=True)
    pd.DataFrame({"ecephys_session_id": [11]}).to_csv(meta / "ecephys_sessions.csv", index=False)
    widget.set_source(tmp_path / "cache")
    check = widget.source.download_check
    assert check.isEnabled() and not check.isChecked() and widget.source.stream()
    check.setChecked(True)
    assert not widget.source.stream()
    widget.set_source(tmp_path)
    assert not check.isEnabled() and widget.source.stream()
