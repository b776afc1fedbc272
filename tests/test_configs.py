"""The typed job configs: one spec per field, bounds checked with one-line messages, cheap to import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from napari_neurorbm import configs
from napari_neurorbm.configs import BinningConfig, ClampConfig, CouplingsConfig, GenerateConfig, TrainConfig
from napari_neurorbm.errors import NeuroRBMError

ALL = (BinningConfig, TrainConfig, GenerateConfig, ClampConfig, CouplingsConfig)


@pytest.mark.parametrize("cls", ALL)
def test_every_field_has_a_spec_and_its_default_passes(cls) -> None:
    infos = cls.fields()
    assert [i.name for i in infos] == [f.name for f in dataclasses.fields(cls)]
    for info in infos:
        assert info.spec.label and info.spec.help.strip(), info.name
        assert info.default == getattr(cls(), info.name)
    assert cls().validate() == cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cls().seed = 1  # frozen: a config is a value, passed on and compared


def test_old_import_paths_give_the_same_classes() -> None:
    from napari_neurorbm.data.binning import BinningParams, QualityRule
    from napari_neurorbm.rbm.training import TrainConfig as Old

    assert Old is TrainConfig and BinningParams is BinningConfig and QualityRule is configs.QualityRule


def test_train_config_keeps_its_defaults() -> None:
    assert dataclasses.asdict(TrainConfig()) == {
        "n_hidden": 128, "k": 10, "batch": 2000, "chains": 2000, "lr": 1.6, "updates": 10000, "seed": 0,
        "device": "auto", "test_fraction": 0.3, "eval_every": 50, "checkpoints": 50, "optimizer": "sgd",
        "lr_decay": 100.0, "centered": True, "normalize": True, "log_z": "auto", "ais_chains": 128,
        "ais_betas": 500, "ptt_sweeps": 0, "weight_std": 1e-4, "minutes": 0.0, "eval_share": 0.1,
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (GenerateConfig(frames=0), "the number of frames must be a positive integer, got 0"),
        (GenerateConfig(tau=-1), "the tau must be a positive integer"),
        (GenerateConfig(init="zeros"), r"unknown start 'zeros' \(use data, random\)"),
        (GenerateConfig(device="tpu"), "unknown device 'tpu'"),
        (ClampConfig(onset=-1), "the clamp onset must be at least 0, got -1"),
        (ClampConfig(n_sigma=20.0), r"the noise threshold must be in \[0.5, 10\] SE, got 20.0"),
        (ClampConfig(n_sigma=float("nan")), "the noise threshold must be a finite number"),
        (CouplingsConfig(min_units=0), "the minimum units per area must be a positive integer, got 0"),
        (BinningConfig(test_fraction=1.0), r"the test fraction must be in \[0, 1\), got 1.0"),
        (BinningConfig(bin_ms=0.0), "the bin width must be positive, got 0.0"),
    ],
)
def test_out_of_bounds_values_have_one_line_messages(config, message: str) -> None:
    with pytest.raises(NeuroRBMError, match=message) as info:
        config.validate()
    assert "\n" not in str(info.value)


def test_from_dict_ignores_unknown_keys_and_defaults_missing_ones() -> None:
    assert GenerateConfig.from_dict({"tau": 2, "colour": "red"}) == GenerateConfig(tau=2)


def test_defaults_are_the_cores_defaults() -> None:
    import inspect

    from napari_neurorbm.analysis import areas, generation

    sig = inspect.signature(generation.iter_generate).parameters
    assert (sig["tau"].default, sig["chains"].default) == (ClampConfig.tau, GenerateConfig.chains)
    assert inspect.signature(areas.area_coupling_matrix).parameters["min_units"].default == 30


def test_import_is_cheap() -> None:
    code = ("import sys\nimport napari_neurorbm.configs\n"
            "print(sorted(m for m in ('numpy', 'torch', 'pandas', 'magicgui', 'qtpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
