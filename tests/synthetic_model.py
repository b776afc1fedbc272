"""A small synthetic recording and its ground-truth RBM as a model file, for the GUI tests of model docks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from napari_neurorbm.data.binning import BinningParams, binarize
from napari_neurorbm.data.raster import Raster
from napari_neurorbm.data.session import Session
from napari_neurorbm.data.synthetic import make_synthetic
from napari_neurorbm.rbm.io import save_model
from napari_neurorbm.rbm.model import RBM


def recording_and_model(folder: Path, n_areas: int = 3, units_per_area: int = 16
                        ) -> tuple[Session, Raster, Path]:
    """3 areas x 16 units (by default), 300 s in 100 ms bins (pairwise correlations stand out of the noise in
    its 900 test frames), and the exact RBM it was drawn from saved as folder/truth.npz, visible units in
    the raster's row order."""
    session, truth = make_synthetic(n_areas=n_areas, units_per_area=units_per_area, duration_s=300.0,
                                    bin_s=0.1, seed=2)
    raster = binarize(session, BinningParams(bin_ms=100.0, test_fraction=0.3, seed=0))
    rows = pd.Index(session.unit_ids).get_indexer(raster.unit_ids)
    rbm = RBM.from_numpy(truth.W[rows], truth.b[rows], truth.c)
    meta = {"areas": raster.areas, "unit_ids": raster.unit_ids, "bin_s": raster.bin_s}
    return session, raster, save_model(Path(folder) / "truth.npz", rbm, meta)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models: one intra-op thread avoids thread hand-offs that dominate on a busy shared CPU.

    Import it into a test module to use it there (it restores the thread count afterwards).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
