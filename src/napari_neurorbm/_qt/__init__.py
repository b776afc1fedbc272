"""Everything that imports Qt or napari: dock widgets, raster layers, plots, the per-viewer shared state."""
