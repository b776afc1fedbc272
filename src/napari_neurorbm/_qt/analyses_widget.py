"""The "Analyses" dock: the other papers' yardsticks on the viewer's recording and model, one tab each (PC
spectrum, DMD, multi-information, heat capacity, the pairwise max-ent baseline, seed 004's E/I experiment;
docs/analyses.md).

Each tab is an :class:`~napari_neurorbm._qt.analyses_tab.AnalysisTab` in a module of its own; :data:`TABS`
lists them in order, so a new analysis is one module and one entry here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtWidgets import QSizePolicy, QTabWidget, QVBoxLayout

from napari_neurorbm._qt.analyses_dmd import DMDTab
from napari_neurorbm._qt.analyses_ei import EITab
from napari_neurorbm._qt.analyses_heat import HeatTab
from napari_neurorbm._qt.analyses_maxent import MaxEntTab
from napari_neurorbm._qt.analyses_multiinfo import MultiInfoTab
from napari_neurorbm._qt.analyses_spectrum import SpectrumTab
from napari_neurorbm._qt.analyses_tab import AnalysisTab
from napari_neurorbm._qt.docking import ViewerDock

if TYPE_CHECKING:
    import napari

TABS: tuple[type[AnalysisTab], ...] = (SpectrumTab, DMDTab, MultiInfoTab, HeatTab, MaxEntTab, EITab)
MIN_WIDTH = 470  # room for a figure's title and legend; the E/I tab's forms in one column fit it


class AnalysesWidget(ViewerDock):
    """One tab per analysis of :data:`TABS`, each with its settings, Run / Stop, figure and export."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(napari_viewer)
        self.tabs = QTabWidget()
        self.tabs.setUsesScrollButtons(True)
        self.by_name: dict[str, AnalysisTab] = {}
        for cls in TABS:
            tab = cls(self.state)
            self.by_name[tab.name] = tab
            self.tabs.addTab(tab, tab.label)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tab.title)
        QVBoxLayout(self.body).addWidget(self.tabs)  # the tabs fill the dock: the figure gets the room
        self.setMinimumWidth(MIN_WIDTH)
        self.tabs.currentChanged.connect(self._fit_current)
        self._fit_current(self.tabs.currentIndex())

    def _fit_current(self, index: int) -> None:
        """The dock is as tall as the tab shown needs, not as the tallest tab: a short tab's numbers at the
        bottom stay in view on a small screen (a page with an Ignored height does not count)."""
        for i in range(self.tabs.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.tabs.widget(i).setSizePolicy(QSizePolicy.Policy.Preferred, policy)

    def tab(self, name: str) -> AnalysisTab:
        """The tab of the analysis ``name`` (its exported files' stem: spectrum, dmd, multiinfo, heat,
        maxent, ei)."""
        return self.by_name[name]
