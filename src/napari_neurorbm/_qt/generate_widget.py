"""The "Generate" dock: sample frames from the current model on a worker, show them beside the recording's
held-out test frames (same rows, strip, colormap and contrast), and compare their statistics."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_neurorbm._qt.model_runs import (
    JobControl,
    JobFailed,
    focus,
    held_out_raster,
    model_raster,
    remove_rasters,
    show_failure,
    show_rasters,
)
from napari_neurorbm._qt.state import get_state
from napari_neurorbm._qt.stats_plots import DOCK_NAME, StatsPanel
from napari_neurorbm.analysis import statistics as st
from napari_neurorbm.analysis.generation import GEN, GeneratedRun
from napari_neurorbm.analysis.report import iter_generate_and_compare
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress
from napari_neurorbm.rbm.io import ModelFile

if TYPE_CHECKING:
    import napari

INITS = {"training frames": "data", "random states": "random"}
DEVICES = ("auto", "cpu", "cuda", "mps")


def generate_job(model: ModelFile | None, raster: Raster | None, n_frames: int, tau: int, chains: int,
                 init: str, seed: int, device: str = "auto"
                 ) -> Generator[Progress, None, tuple[GeneratedRun, st.StatsReport]]:
    """Generate ``n_frames`` frames and compare them with the recording (``iter_generate_and_compare``)."""
    if model is None or raster is None:
        raise NeuroRBMError("load a recording and train or open a model first")
    return (yield from iter_generate_and_compare(model, raster, n_frames, tau=tau, chains=chains, init=init,
                                                 seed=seed, device=device))


class GenerateWidget(QWidget):
    """Frames, τ, chains, start and seed; Generate runs the sampler, then shows the rasters and statistics."""

    generated = Signal(object)  # the generated Raster, once its layers and statistics are shown
    failed = Signal(str)  # the one-line message shown to the user

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.state = get_state(napari_viewer)
        self.stats: StatsPanel | None = None
        self._job_raster: Raster | None = None
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self._on_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.runs = JobControl(self, self.generate_button, self.progress, self.message, "Generate")
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addWidget(self._form())
        layout.addWidget(self.generate_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.setMinimumWidth(300)
        self.state.events.model.connect(self._describe_model)
        self.state.events.raster.connect(self._on_new_raster)
        self._on_raster(self.state.raster)

    def _form(self) -> QGroupBox:
        box = QGroupBox("Sampling")
        form = QFormLayout(box)
        self.frames = QSpinBox(minimum=2, maximum=10_000_000, value=1000, singleStep=100)
        self.frames.setToolTip("Frames generated in all, split over the chains (default: the test frames)")
        self.tau = QSpinBox(minimum=1, maximum=10_000, value=GEN.tau)
        self.tau.setToolTip("Gibbs sweeps between saved frames (the paper used 5)")
        self.chains = QSpinBox(minimum=1, maximum=100_000, value=GEN.chains)
        self.chains.setToolTip("Independent Markov chains run side by side")
        self.init = QComboBox()
        self.init.addItems(list(INITS))
        self.init.setToolTip("Start each chain from a random training frame or from random 0/1 states")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        form.addRow("Frames", self.frames)
        form.addRow("τ (sweeps per frame)", self.tau)
        form.addRow("Chains", self.chains)
        form.addRow("Start from", self.init)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        return box

    def _on_new_raster(self, raster: Raster | None) -> None:
        """Another recording: the generated run belongs to the old rows, so it goes."""
        remove_rasters(self.viewer, ("test", "generated"))
        self.state.generated = None
        self._on_raster(raster)

    def _on_raster(self, raster: Raster | None) -> None:
        if raster is not None and raster.test_frames.size >= 2:
            self.frames.setValue(int(raster.test_frames.size))
        self._describe_model()

    def _describe_model(self, *_: object) -> None:
        model = self.state.model
        if model is None:
            self.model_label.setText("No model yet: train one or open a model file.")
            return
        rbm = model.rbm
        self.model_label.setText(f"Model: {rbm.n_visible} visible × {rbm.n_hidden} hidden units.")

    # ---- running ----------------------------------------------------------------------------------
    @property
    def worker(self):
        """The running generation's worker, or None."""
        return self.runs.worker

    def _on_button(self) -> None:
        self.runs.toggle(self.generate)

    def generate(self) -> None:
        """Start sampling and the comparison on a worker thread."""
        self._job_raster = self.state.raster
        job = generate_job(self.state.model, self.state.raster, self.frames.value(), self.tau.value(),
                           self.chains.value(), INITS[self.init.currentText()], self.seed.value(),
                           self.device.currentText())
        self.runs.start(job, "Generating…", self._on_done)

    def _on_done(self, result: tuple[GeneratedRun, st.StatsReport] | JobFailed) -> None:
        if isinstance(result, JobFailed):
            show_failure(result.message, self.message)
            self.failed.emit(result.message)
            return
        raster = self._job_raster
        run, report = result
        test = held_out_raster(raster)
        gen = model_raster(run.frames, run.segment_starts, raster, "generated")
        show_rasters(self.viewer, [("test", test, "test frames"), ("generated", gen, "generated")],
                     counts=["test"])
        focus(self.viewer, ("test", "generated"))
        self.state.generated = gen
        self._stats_panel().show_report(report)
        self.progress.setValue(1000)
        self.message.setText(f"Generated {run.n_frames} frames in {run.n_chains} chains; "
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
