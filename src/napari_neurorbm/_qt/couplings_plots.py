"""pyqtgraph plots of the Couplings dock: area matrix J_AB with its values, per-area J_ij histograms,
coupling norms over training; and the one diverging colour scale (negative blue, zero dark, positive red)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from qtpy.QtWidgets import QTabWidget

from napari_neurorbm._qt.qc_plots import log_ticks
from napari_neurorbm.analysis.areas import area_coupling_matrix, area_coupling_stats, within_area_couplings

# Diverging scale centred on zero: dark in the middle so that the many near-zero couplings recede on
# napari's black canvas and the strong ones (either sign) stand out.
DIVERGING_POSITIONS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
DIVERGING_RGB = np.array(
    [[0.55, 0.85, 1.0], [0.15, 0.45, 0.95], [0.14, 0.14, 0.16], [0.92, 0.26, 0.15], [1.0, 0.86, 0.5]]
)
HIST_BINS = 41
COMPACT_CELLS = 8  # more areas than this: fewer decimals in the cells of J_AB
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
NORM_COLOURS = {"fields": (120, 200, 255), "pairs": (250, 140, 60), "triplets": (140, 220, 120)}


def diverging_pg() -> pg.ColorMap:
    """The diverging scale as a pyqtgraph colour map."""
    return pg.ColorMap(DIVERGING_POSITIONS, (255 * DIVERGING_RGB).astype(np.uint8), name="coupling")


def symmetric_limit(values: np.ndarray, robust: bool = True, q: float = 99.5) -> float:
    """Half-width of a symmetric colour range: the q-th percentile of |value| (robust) or the maximum."""
    a = np.abs(values[np.isfinite(values)])
    if not a.size:
        return 1.0
    lim = float(np.percentile(a, q) if robust else a.max())
    return lim if lim > 0 else max(float(a.max()), 1e-12)


def cell_exponent(values: np.ndarray) -> int:
    """Power of ten k (never above 0) such that the largest |value| / 10^k lies in [1, 10)."""
    a = np.abs(values[np.isfinite(values)])
    return min(0, int(np.floor(np.log10(a.max())))) if a.size and a.max() > 0 else 0


def cell_text(x: float, compact: bool = False) -> str:
    """A scaled coupling as written in a cell: one decimal from 1 up, two below (one and none when
    ``compact``, for many small cells), '–' when undefined."""
    if not np.isfinite(x):
        return "–"
    decimals = (1 if abs(x) >= 1 else 2) - compact
    return f"{x:.{decimals}f}"


def power_of_ten(k: int) -> str:
    """'×10⁻³' for k = -3 (empty for k = 0)."""
    return "" if k == 0 else "×10" + str(k).translate(SUPERSCRIPTS)


class CouplingPlots(QTabWidget):
    """Three tabs: the area matrix J_AB (values in the cells), per-area histograms of the within-area J_ij
    (skewness and E/I ratio in the legend), and the norms of fields, pairs and triplets over training."""

    def __init__(self) -> None:
        super().__init__()
        self.matrix_view = pg.GraphicsLayoutWidget()
        self.matrix = self.matrix_view.addPlot(title="Area couplings J_AB")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.matrix.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=diverging_pg(), interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.matrix)
        self.cells: list[pg.TextItem] = []
        self.hist_view = pg.GraphicsLayoutWidget()
        self.hist = self.hist_view.addPlot(title="Within-area J_ij", row=0, col=0)
        self.hist_legend = pg.LegendItem(labelTextSize="8pt")  # below the plot: many areas, long labels
        self.hist_view.addItem(self.hist_legend, row=1, col=0)
        self.hist.setMinimumHeight(160)
        self.norm_view = pg.GraphicsLayoutWidget()
        self.norms = self.norm_view.addPlot(title="Coupling norms")
        self.norm_legend = self.norms.addLegend(offset=(-5, -5), labelTextSize="8pt")
        self.addTab(self.matrix_view, "Area matrix")
        self.addTab(self.hist_view, "Histograms")
        self.addTab(self.norm_view, "Over training")
        self._label_axes()
        self.setMinimumHeight(260)

    def _label_axes(self) -> None:
        self.matrix.invertY(True)
        self.matrix.hideButtons()
        self.matrix.setMenuEnabled(False)
        self.hist.setLabel("bottom", "J_ij")
        self.hist.setLabel("left", "density")
        self.norms.setLabel("bottom", "parameter update")
        self.norms.setLabel("left", "RMS coupling")
        for plot in (self.hist, self.norms):
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)

    # ---- area matrix and histograms -------------------------------------------------------------
    def show_areas(self, J: np.ndarray, areas: np.ndarray | None, min_units: int,
                   colours: dict[str, np.ndarray]) -> None:
        """Redraw the area matrix and the histograms for the areas with at least ``min_units`` units."""
        if areas is None:
            names, J_area = np.zeros(0, dtype=str), np.zeros((0, 0))
        else:
            names, J_area = area_coupling_matrix(J, areas, min_units)
        self._draw_matrix(names, J_area, min_units, areas is None)
        self._draw_histograms(J, areas, min_units, colours)

    def _draw_matrix(self, names: np.ndarray, J_area: np.ndarray, min_units: int, no_areas: bool) -> None:
        for item in self.cells:
            self.matrix.removeItem(item)
        self.cells = []
        n = len(names)
        if not n:
            self.image.clear()
            why = "the model has no brain areas" if no_areas else f"no area has ≥ {min_units} units"
            self.matrix.setTitle(f"J_AB: {why}")
            return
        k = cell_exponent(J_area)
        self.matrix.setTitle(f"J_AB {power_of_ten(k)}, areas of ≥ {min_units} units")
        scaled = J_area / 10.0**k  # the colour bar and the cells in the same units as the title
        lim = symmetric_limit(scaled, robust=False)
        self.image.setImage(np.nan_to_num(scaled), levels=(-lim, lim))
        self.image.setRect(-0.5, -0.5, n, n)
        self.bar.setLevels((-lim, lim))
        ticks = [list(enumerate(str(a) for a in names))]
        self.matrix.getAxis("left").setTicks(ticks)
        self.matrix.getAxis("bottom").setTicks(ticks)
        self._write_cells(scaled, lim)
        self.matrix.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, n - 0.5), padding=0.02)

    def _write_cells(self, values: np.ndarray, lim: float) -> None:
        """Each cell's value in a colour that reads on the cell (black on bright cells, else white)."""
        n = len(values)
        size = 9 if n <= 6 else 8 if n <= 10 else 7
        where = (np.clip(np.nan_to_num(values) / lim, -1, 1) + 1) / 2
        rgb = diverging_pg().map(where.ravel(), mode="float")[:, :3].reshape(n, n, 3)
        bright = rgb @ np.array([0.299, 0.587, 0.114]) > 0.55
        compact = n > COMPACT_CELLS
        for r in range(n):
            for c in range(n):
                colour = "k" if bright[r, c] else "w"
                item = pg.TextItem(cell_text(values[r, c], compact), color=colour, anchor=(0.5, 0.5))
                font = item.textItem.font()
                font.setPointSize(size)
                item.setFont(font)
                item.setPos(c, r)
                self.matrix.addItem(item)
                self.cells.append(item)

    def _draw_histograms(self, J: np.ndarray, areas: np.ndarray | None, min_units: int,
                         colours: dict[str, np.ndarray]) -> None:
        self.hist.clear()
        self.hist_legend.clear()
        if areas is None:
            self.hist.setTitle("Within-area J_ij: the model has no brain areas")
            return
        groups = within_area_couplings(J, areas, min_units)
        stats = area_coupling_stats(J, areas, min_units).set_index("area")
        values = [v for v in groups.values() if v.size]
        if not values:
            self.hist.setTitle(f"Within-area J_ij: no area has ≥ {min_units} units")
            return
        self.hist.setTitle(f"Within-area J_ij, areas of ≥ {min_units} units")
        lim = symmetric_limit(np.concatenate(values), q=99.8)
        edges = np.linspace(-lim, lim, HIST_BINS + 1)
        for name, vals in groups.items():
            if not vals.size:
                continue
            density, _ = np.histogram(np.clip(vals, -lim, lim), bins=edges, density=True)
            pen = pg.mkPen(*(255 * colours.get(name, np.ones(4))).astype(int), width=2)
            row = stats.loc[name]
            n_units, skew, ei = int(row["n_units"]), row["skewness"], row["ei_ratio"]
            label = f"{name} n={n_units} · skew {skew:+.2f} · E/I {ei:.2f}"
            self.hist_legend.addItem(self.hist.plot(edges, density, stepMode="center", pen=pen), label)
        dashed = pg.mkPen((200, 200, 200), style=pg.QtCore.Qt.PenStyle.DashLine)
        self.hist.addItem(pg.InfiniteLine(0.0, angle=90, pen=dashed))

    # ---- norms over training ----------------------------------------------------------------------
    def show_norms(self, norms: pd.DataFrame | None, note: str = "") -> None:
        """Plot the fields / pairs / triplets norms against the update on log-log axes (points with an
        update or a norm of 0 are left out)."""
        self.norms.clear()
        self.norm_legend.clear()
        if norms is None or norms.empty:
            self.norms.setTitle(f"Coupling norms: {note or 'not computed'}")
            return
        self.norms.setTitle("Coupling norms over training (eq. 14)")
        self.norms.setLogMode(x=True, y=True)
        update = norms["update"].to_numpy(dtype=float)
        shown = []
        for column, colour in NORM_COLOURS.items():
            value = norms[column].to_numpy(dtype=float)
            ok = (update > 0) & (value > 0)
            if ok.any():
                self.norms.plot(update[ok], value[ok], pen=pg.mkPen(colour, width=2), symbol="o",
                                symbolSize=6, symbolBrush=colour, symbolPen=None, name=column)
                shown.append(value[ok])
        if shown:
            values = np.concatenate(shown)
            self.norms.getAxis("bottom").setTicks([log_ticks(update[update > 0].min(), update.max())])
            self.norms.getAxis("left").setTicks([log_ticks(values.min(), values.max())])
