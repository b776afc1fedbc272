"""The model file: round trip, minimal files, and clear errors for files that are not models."""

import json

import numpy as np
import pytest
import torch

from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.rbm.io import load_model, save_model
from napari_neurorbm.rbm.model import RBM


def model(nv=6, nh=4, seed=0) -> RBM:
    g = np.random.default_rng(seed)
    return RBM.from_numpy(g.normal(size=(nv, nh)), g.normal(size=nv), g.normal(size=nh))


def test_round_trip_with_metadata_and_checkpoints(tmp_path):
    rbm = model()
    meta = {
        "areas": np.array(["VISp"] * 3 + ["CA1"] * 3),
        "unit_ids": np.arange(6),
        "bin_s": np.float64(0.02),
        "config": {"n_hidden": 4},
        "history": [{"update": 1, "test_ll": -3.5}],
    }
    ckpts = [(0, model(seed=1)), (10, model(seed=2))]
    out = save_model(tmp_path / "m", rbm, meta, ckpts)
    assert out.name == "m.npz"
    with np.load(out, allow_pickle=False) as f:  # numpy alone reads it
        assert f["W"].shape == (6, 4) and json.loads(str(f["metadata"]))["bin_s"] == 0.02
    mf = load_model(out)
    for a, b in zip(mf.rbm.numpy(), rbm.numpy(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert mf.rbm.device == torch.device("cpu")
    assert list(mf.areas) == ["VISp"] * 3 + ["CA1"] * 3 and mf.areas.dtype.kind == "U"
    assert list(mf.unit_ids) == list(range(6)) and mf.bin_s == 0.02
    assert mf.metadata["config"] == {"n_hidden": 4}
    assert [u for u, _ in mf.checkpoints] == [0, 10]
    np.testing.assert_allclose(mf.checkpoints[1][1].numpy()[0], ckpts[1][1].numpy()[0], rtol=1e-6)


def test_minimal_file_is_accepted(tmp_path):
    W, b, c = model().numpy()
    np.savez(tmp_path / "bare.npz", W=W, b=b, c=c)
    mf = load_model(tmp_path / "bare.npz")
    assert mf.rbm.n_visible == 6 and mf.metadata == {} and mf.checkpoints == []
    assert mf.areas is None and mf.unit_ids is None and mf.bin_s is None


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"counts": np.zeros((3, 3))}, "needs arrays W, b and c"),
        ({"W": np.zeros((3, 2)), "b": np.zeros(4), "c": np.zeros(2)}, "shapes do not match"),
        (
            {"W": np.zeros((3, 2)), "b": np.zeros(3), "c": np.zeros(2), "metadata": np.str_("{bad")},
            "not valid JSON",
        ),
        (
            {
                "W": np.zeros((3, 2)),
                "b": np.zeros(3),
                "c": np.zeros(2),
                "metadata": np.str_(json.dumps({"areas": ["a", "b"]})),
            },
            "2 areas for 3",
        ),
        (
            {
                "W": np.zeros((3, 2)),
                "b": np.zeros(3),
                "c": np.zeros(2),
                "ckpt_updates": np.array([1]),
                "ckpt_W": np.zeros((1, 3, 3)),
                "ckpt_b": np.zeros((1, 3)),
                "ckpt_c": np.zeros((1, 2)),
            },
            "checkpoint shapes",
        ),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, arrays, match):
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(NeuroRBMError, match=match):
        load_model(tmp_path / "x.npz")


def test_not_an_npz_at_all(tmp_path):
    (tmp_path / "t.npz").write_text("hello")
    with pytest.raises(NeuroRBMError, match="not a model file"):
        load_model(tmp_path / "t.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(NeuroRBMError, match="not a model file"):
        load_model(tmp_path / "a.npy")
    with pytest.raises(NeuroRBMError, match="not found"):
        load_model(tmp_path / "missing.npz")
