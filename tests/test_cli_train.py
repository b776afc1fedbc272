"""``neurorbm train``, ``loglik`` and ``info`` end to end on a small raster; bad input."""

import json

import numpy as np
import pytest

from napari_neurorbm.cli import main
from napari_neurorbm.data.raster import Raster, read_raster, split_frames
from napari_neurorbm.rbm.io import load_model, save_model
from napari_neurorbm.rbm.model import RBM
from napari_neurorbm.rbm.partition import log_z_exact, loglik
from test_rbm_training import structured_frames

SMALL = "--hidden 8 --gibbs-steps 5 --batch 300 --chains 300 --lr 0.01 --optimizer adam --device cpu".split()
SMALL += "--checkpoints 15 --ais-chains 300 --ais-betas 300 --eval-share 1".split()


def write_raster(path, n_units=14, n_frames=1500, seed=0):
    frames = structured_frames(n_frames, n_units=n_units, seed=seed).astype(np.uint8)
    train, test = split_frames(n_frames, 0.3, seed)
    areas = np.array(["VISp"] * (n_units // 2) + ["CA1"] * (n_units - n_units // 2))
    return Raster(
        counts=frames.T.copy(),
        bin_s=0.02,
        areas=areas,
        unit_ids=np.arange(7, 7 + n_units),
        segment_starts=np.array([0]),
        frame_times=np.arange(n_frames) * 0.02,
        train_frames=train,
        test_frames=test,
        name="toy",
    ).save(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    raster = write_raster(tmp / "raster.npz")
    model = tmp / "model.npz"
    opts = "--updates 200 --eval-every 50 --log-z ais".split()
    assert main(["train", str(raster), *SMALL, *opts, "--out", str(model)]) == 0
    return raster, model


def test_train_writes_a_model_file_that_beats_independent_units(trained, capsys):
    _raster, model = trained
    mf = load_model(model)
    meta = mf.metadata
    assert mf.rbm.n_visible == 14 and mf.rbm.n_hidden == 8
    assert list(mf.unit_ids) == list(range(7, 21)) and mf.bin_s == 0.02 and mf.areas[-1] == "CA1"
    assert meta["config"]["k"] == 5 and meta["update"] == 200 and len(meta["history"]) == 5
    assert meta["best"]["test_ll"] > meta["independent_test_ll"] + 0.5
    assert meta["selected_update"] == meta["best"]["update"] == meta["selection"]["update"]
    assert len(meta["split"]["test_frames"]) == 450
    assert mf.checkpoints[0][0] == 0 and mf.chains.shape == (300, 14)


def test_loglik_json_exact_ais_ptt_agree(trained, capsys):
    raster, model = trained
    out = {}
    for method in ("exact", "ais", "ptt"):
        capsys.readouterr()
        opts = f"--method {method} --json --chains 500 --betas 1000 --sweeps 100 --device cpu".split()
        assert main(["loglik", str(model), str(raster), *opts]) == 0
        out[method] = json.loads(capsys.readouterr().out)
    mf = load_model(model)
    assert out["exact"]["log_z"] == pytest.approx(log_z_exact(mf.rbm), abs=1e-9)
    assert out["exact"]["n_frames"] == 1500
    for method in ("ais", "ptt"):
        assert abs(out[method]["log_z"] - out["exact"]["log_z"]) < 0.05
        assert abs(out[method]["loglik"] - out["exact"]["loglik"]) < 0.05
    capsys.readouterr()
    assert main(["loglik", str(model), str(raster), "--method", "exact", "--frames", "test"]) == 0
    text = capsys.readouterr().out
    ll = loglik(mf.rbm, read_raster(raster).frames("test"), log_z_exact(mf.rbm))
    assert f"{ll:.4f} nats per frame" in text and "450 test frames" in text


def test_info_text_and_json(trained, capsys):
    _raster, model = trained
    assert main(["info", str(model)]) == 0
    text = capsys.readouterr().out
    assert "14 visible x 8 hidden" in text and "CA1 7, VISp 7" in text and "best     update" in text
    assert main(["info", str(model), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["n_hidden"] == 8 and meta["checkpoint_updates"][0] == 0 and "split" not in meta


def test_resume_continues_the_run(trained, tmp_path, capsys):
    raster, model = trained
    out = tmp_path / "more.npz"
    assert main(["train", str(raster), "--resume", str(model), "--updates", "260", "--out", str(out)]) == 0
    meta = load_model(out).metadata
    assert meta["update"] == 260 and meta["config"]["optimizer"] == "adam" and meta["config"]["batch"] == 300
    assert [h["update"] for h in meta["history"]][-2:] == [250, 260]


def test_a_bare_model_file_works_everywhere(trained, tmp_path, capsys):
    raster, model = trained
    bare = tmp_path / "bare.npz"
    W, b, c = load_model(model).rbm.numpy()
    np.savez(bare, W=W, b=b, c=c)
    assert main(["info", str(bare)]) == 0 and "ckpts    none" in capsys.readouterr().out
    assert main(["loglik", str(bare), str(raster), "--method", "exact", "--json"]) == 0
    assert main(["loglik", str(bare), str(raster), "--method", "ptt"]) == 2
    assert "no checkpoints" in capsys.readouterr().err
    opts = "--updates 20 --eval-every 0 --chains 100 --batch 100".split()
    assert main(["train", str(raster), "--resume", str(bare), *opts, "--out", str(tmp_path / "r.npz")]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hidden", "0"], "hidden units"),
        (["--lr", "0"], "learning rate"),
        (["--lr", "-0.1"], "learning rate"),
        (["--gibbs-steps", "0"], "Gibbs steps"),
        (["--optimizer", "lbfgs"], "optimizer"),
        (["--device", "tpu"], "unknown device"),
    ],
)
def test_train_rejects_impossible_hyperparameters(trained, tmp_path, capsys, argv, message):
    raster, _model = trained
    assert main(["train", str(raster), *argv, "--updates", "5", "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurorbm train: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()


def test_bad_files_give_one_line_errors(trained, tmp_path, capsys):
    raster, model = trained
    other = write_raster(tmp_path / "other.npz", n_units=10)
    mismatched = tmp_path / "mismatch.npz"
    np.savez(mismatched, W=np.zeros((14, 8)), b=np.zeros(13), c=np.zeros(8))
    cases = [
        (["loglik", str(raster), str(raster)], "needs arrays W, b and c"),
        (["info", str(mismatched)], "shapes do not match"),
        (["loglik", str(model), str(other), "--method", "exact"], "14 visible units"),
        (["train", str(other), "--resume", str(model), "--updates", "300"], "14 visible units"),
        (["train", str(model), "--out", str(tmp_path / "x.npz")], "counts"),
        (["train", str(raster)], "--out"),
        (["loglik", str(model), str(raster), "--chains", "1"], "at least 2"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    save_model(tmp_path / "wide.npz", RBM.from_numpy(np.zeros((14, 24)), np.zeros(14), np.zeros(24)), {})
    assert main(["loglik", str(tmp_path / "wide.npz"), str(raster), "--method", "exact"]) == 0  # 14 visible
