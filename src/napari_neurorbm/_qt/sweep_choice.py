"""A run of a sweep becomes the viewer's model (``state.model``), so that Generate, Couplings and Clamp use
it. Its units must be the rows of the viewer's raster: the state's raster, else a data raster of the viewer
with the same units (made the current one), else the run's own raster file, loaded into the viewer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from napari_neurorbm._qt.raster_layers import KEY, add_raster_layers, layers_of
from napari_neurorbm._qt.state import ViewerState
from napari_neurorbm.analysis.generation import check_same_units
from napari_neurorbm.data.raster import Raster, read_raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import ModelFile, load_model
from napari_neurorbm.sweep.folder import SweepFolder

if TYPE_CHECKING:
    import napari


def use_run(viewer: napari.Viewer, state: ViewerState, folder: SweepFolder, name: str, raster_file: str
            ) -> str:
    """Make run ``name`` of ``folder`` (trained on ``raster_file``) the viewer's model; returns what was
    done, in one line. A run without a model file yet, or whose raster is neither in the viewer nor on
    disk, is a NeuroRBMError that says what is needed."""
    path = folder.model_path(name)
    if not path.exists():
        raise NeuroRBMError(f"run {name} has no model file yet (it has not started): pick a started run")
    model = load_model(path)
    loaded = ""
    if not _show_matching_raster(viewer, state, model):
        raster = _read_run_raster(folder, raster_file, name)
        check_same_units(model, raster, raster.name)
        add_raster_layers(viewer, raster)  # the viewer adopts it as its raster (state.raster)
        if state.raster is not raster:  # a viewer without the plugin's layout listening: set it here
            state.session, state.raster = None, raster
        loaded = f"; loaded its raster {raster.name} ({raster.n_units} units)"
    state.model = model
    update = model.metadata.get("selected_update", model.metadata.get("update"))
    at = "" if update is None else f" (update {update})"
    return f"The viewer's model is now run {name}{at}{loaded}."


def _show_matching_raster(viewer: napari.Viewer, state: ViewerState, model: ModelFile) -> bool:
    """Make the state's raster, or else the first data raster of the viewer, whose units are the model's the
    current one; whether there was one."""
    layers = layers_of(viewer, role="data", kind="binary")
    found = [(None, state.raster)] + [(layer, layer.metadata[KEY].get("raster")) for layer in layers]
    for layer, raster in found:
        if isinstance(raster, Raster) and _same_units(model, raster):
            if raster is not state.raster:
                state.session, state.raster = layer.metadata[KEY].get("session"), raster
            return True
    return False


def _same_units(model: ModelFile, raster: Raster) -> bool:
    try:
        check_same_units(model, raster)
    except NeuroRBMError:
        return False
    return True


def _read_run_raster(folder: SweepFolder, raster_file: str, name: str) -> Raster:
    """The run's raster file: as the plan names it, or beside the sweep folder when the plan's path was
    relative to where the sweep was started."""
    given = Path(raster_file)
    for path in (given, folder.path / given.name, folder.path.parent / given):
        if path.is_file():
            return read_raster(path)
    raise NeuroRBMError(f"run {name} was trained on {raster_file}, which is not there and not in the viewer: "
                        "load that raster (Load & binarize) and pick the run again")
