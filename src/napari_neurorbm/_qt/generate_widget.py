"""The "Generate" dock: sample frames from the current model on a worker, show them beside the recording's
held-out test frames (same rows, strip, colormap and contrast), and compare their statistics.

Built from the sampling form (:class:`~napari_neurorbm.configs.GenerateConfig`), the job runner and the
statistics dock (:mod:`.stats_plots`)."""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from typing import TYPE_CHECKING

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QLabel, QPushButton

from napari_neurorbm._qt.docking import ViewerDock
from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm._qt.jobs import JobRunner, RunnerParts
from napari_neurorbm._qt.layout import get_layout
from napari_neurorbm._qt.model_runs import describe_model, held_out_raster, model_raster
from napari_neurorbm._qt.stats_plots import DOCK_NAME, StatsPanel
from napari_neurorbm.analysis import statistics as st
from napari_neurorbm.analysis.generation import GeneratedRun
from napari_neurorbm.analysis.report import iter_generate_and_compare, tau_note
from napari_neurorbm.analysis.timing import STAGE
from napari_neurorbm.configs import GenerateConfig
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile

if TYPE_CHECKING:
    import napari

STAGES = {STAGE: "Calibrating tau", "generating": "Generating frames", "statistics": "Comparing statistics"}


def generate_job(model: ModelFile | None, raster: Raster | None, config: GenerateConfig
                 ) -> Generator[Progress, None, tuple[GeneratedRun, st.StatsReport]]:
    """Generate ``config.frames`` frames and compare them with the recording (see
    ``iter_generate_and_compare``)."""
    if model is None or raster is None:
        raise NeuroRBMError("load a recording and train or open a model first")
    return (yield from iter_generate_and_compare(model, raster, config.frames, tau=config.tau,
                                                 chains=config.chains, init=config.init, seed=config.seed,
                                                 device=config.device))


class GenerateWidget(ViewerDock, RunnerParts):
    """Frames, τ (empty: auto, calibrated to the recording), chains, start and seed; Generate runs the
    sampler, then shows the rasters and statistics."""

    generated = Signal(object)  # the generated Raster, once its layers and statistics are shown
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(napari_viewer)
        self.stats: StatsPanel | None = None
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.form = ConfigForm(GenerateConfig(), overrides={"frames": {"min": 2}})
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(lambda: self.runner.toggle(self.generate))
        self.runner = JobRunner(self, self.generate_button, what="generation", on_failed=self.failed.emit,
                                stage_names=STAGES)
        self.stack(self.model_label, self.form.boxed("Sampling"), self.generate_button, self.runner.bar,
                   self.runner.message)
        self.setMinimumWidth(300)
        self.state.events.model.connect(self._describe_model)
        self.state.events.raster.connect(self._on_new_raster)
        self._on_raster(self.state.raster)

    def _on_new_raster(self, raster: Raster | None) -> None:
        """Another recording: the generated run belongs to the old rows, so it goes."""
        get_layout(self.viewer).remove_rasters(("test", "generated"))
        self.state.generated = None
        self._on_raster(raster)

    def _on_raster(self, raster: Raster | None) -> None:
        if raster is not None and raster.test_frames.size >= 2:
            self.form.fill(frames=int(raster.test_frames.size))
        self._describe_model()

    def _describe_model(self, *_: object) -> None:
        self.model_label.setText(describe_model(self.state.model))

    def generate(self) -> None:
        """Start sampling and the comparison on a worker thread."""
        try:
            config = self.form.config()
        except NeuroRBMError as exc:
            self.runner.fail(str(exc))
            return
        raster = self.state.raster
        self.runner.start(generate_job(self.state.model, raster, config), "Generating…",
                          partial(self._show, raster))

    def _show(self, raster: Raster, result: tuple[GeneratedRun, st.StatsReport]) -> None:
        run, report = result
        test = held_out_raster(raster)
        gen = model_raster(run.frames, run.segment_starts, raster, "generated")
        layout = get_layout(self.viewer)
        layout.show_rasters([("test", test, "test frames"), ("generated", gen, "generated")], counts=["test"])
        layout.focus(("test", "generated"))
        self.state.generated = gen
        self._stats_panel().show_report(report)
        self.message.setText(f"Generated {run.n_frames} frames in {run.n_chains} chains, {tau_note(run)}; "
                             f"{summary_line(report)}")
        self.generated.emit(gen)

    def _stats_panel(self) -> StatsPanel:
        """The statistics dock, added at the bottom (tabbed with other bottom docks) when absent."""
        window = self.viewer.window
        panels = [w for w in window.dock_widgets.values() if isinstance(w, StatsPanel)]
        if panels:
            self.stats = panels[0]
        else:
            self.stats = StatsPanel()
            window.add_dock_widget(self.stats, name=DOCK_NAME, area="bottom", tabify=True)
        return self.stats


def summary_line(rep: st.StatsReport) -> str:
    """Pearson r of generated and independent pairwise correlations against train, in a few words."""
    g, i = rep.fits["pairs"]["generated"].r, rep.fits["pairs"]["independent"].r
    return f"pairwise correlations vs train: r = {g:.2f} (independent neurons: r = {i:.2f})."
