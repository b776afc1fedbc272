"""Forms made from the configs with magicgui, and the CLI options made from the same configs: every field is
in both with the same default; the form hands back a validated config."""

from __future__ import annotations

import argparse

import pytest

from napari_neurorbm._qt.forms import ConfigForm
from napari_neurorbm.cli import build_parser
from napari_neurorbm.cli._options import config_from_args, option
from napari_neurorbm.configs import (
    BinningConfig,
    ClampConfig,
    CouplingsConfig,
    GenerateConfig,
    QualityRule,
    TrainConfig,
)
from napari_neurorbm.errors import NeuroRBMError

pytestmark = pytest.mark.gui

COMMANDS = {BinningConfig: "binarize", TrainConfig: "train", GenerateConfig: "report", ClampConfig: "sample",
            CouplingsConfig: "couplings"}
OWN_OPTIONS = {"report": ("frames", "init")}  # fields a command gives its own option for, or none


def command_parser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser(name)._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("cls", list(COMMANDS), ids=lambda c: c.__name__)
def test_every_field_is_in_the_cli_and_the_form_with_the_same_default(cls, qtbot) -> None:
    parser = command_parser(COMMANDS[cls])
    flags = {flag: action for action in parser._actions for flag in action.option_strings}
    form = ConfigForm(cls())
    for info in cls.fields():
        if info.name in OWN_OPTIONS.get(COMMANDS[cls], ()):
            continue
        action = flags[option(info)]
        assert action.dest == info.name and action.help.startswith(info.spec.help), info.name
        assert form[info.name].tooltip.lower().startswith(info.spec.help[:20].lower()), info.name
    # nothing given on the command line and an untouched form both mean the config's defaults
    args = parser.parse_args(["SOURCE" for a in parser._actions if not a.option_strings]
                             + [a for a in flags if flags[a].required for a in (a, "x")])
    assert config_from_args(args, cls()) == cls() == form.config()


def test_spin_boxes_carry_the_bounds_units_and_help(qtbot) -> None:
    form = ConfigForm(ClampConfig(), only=["onset", "n_sigma", "init"])
    assert [w.name for w in form] == ["onset", "n_sigma", "init"]
    assert form.onset.min == 0 and form.n_sigma.min == 0.5 and form.n_sigma.max == 10.0
    assert form.n_sigma.native.suffix() == " SE" and "standard errors" in form.n_sigma.tooltip
    assert form.init.native.currentText() == "training frames"
    form.init.value = "random"
    form.n_sigma.value = 4.5
    assert form.config() == ClampConfig(init="random", n_sigma=4.5) and form.chosen == {"init", "n_sigma"}


def test_text_fields_parse_to_the_field_types(qtbot) -> None:
    form = ConfigForm(BinningConfig())
    assert form.bin_ms.value == "20" and form.start_s.native.placeholderText() == "start of recording"
    form.bin_ms.value = ""
    form.start_s.value = " 2.5 "
    form.areas.value = "VISp, CA1"
    form.quality.value = "snr>1; presence_ratio>=0.9"
    assert form.config() == BinningConfig(
        bin_ms=None, start_s=2.5, areas=("VISp", "CA1"),
        quality=(QualityRule("snr", ">", 1.0), QualityRule("presence_ratio", ">=", 0.9)))
    form.start_s.value = "abc"
    with pytest.raises(NeuroRBMError, match="the start time 'abc' is not a number"):
        form.config()


def test_tau_is_a_text_field_empty_or_auto_for_the_calibration(qtbot) -> None:
    form = ConfigForm(GenerateConfig(), only=["tau"])
    assert form.tau.value == "" and form.tau.native.placeholderText() == "auto"
    assert form.config().tau is None
    form.tau.value = "Auto"
    assert form.config().tau is None
    form.tau.value = 3
    assert form.config().tau == 3
    form.tau.value = "0"
    with pytest.raises(NeuroRBMError, match="tau must be a positive integer"):
        form.config()


def test_fill_is_the_programs_choice_and_bad_values_are_one_line_errors(qtbot) -> None:
    form = ConfigForm(TrainConfig(), only=["updates", "lr", "weight_std"],
                      overrides={"updates": {"max": 50_000}})
    assert form.updates.max == 50_000 and form.weight_std.value == pytest.approx(1e-4)
    form.fill(TrainConfig(lr=0.5), updates=300)
    assert form.chosen == set() and form.config() == TrainConfig(lr=0.5, updates=300)
    form.lr.value = 0.0
    with pytest.raises(NeuroRBMError, match="learning rate") as info:
        form.config()
    assert "\n" not in str(info.value) and form.chosen == {"lr"}
    with pytest.raises(ValueError, match="no field"):
        ConfigForm(TrainConfig(), only=["nope"])


# TrainConfig fields the Train dock does not show, and why (the CLI has every field; a model file loaded in
# the dock keeps its own values of these: they are the form's base)
TRAIN_DOCKLESS = {
    "test_fraction": "the raster's own train/test split decides it; the dock shows it as a line",
    "lr_decay": "the training recipe, chosen by measurement (docs/training.md)",
    "centered": "the training recipe, chosen by measurement",
    "normalize": "the training recipe, chosen by measurement",
    "weight_std": "the initial model's spread, not a choice a first run needs",
    "log_z": "monitoring: its method follows the model's size",
    "ais_chains": "monitoring: sized so that it stays within eval_share",
    "ais_betas": "monitoring: sized so that it stays within eval_share",
    "ptt_sweeps": "monitoring: the final PTT pass, for long runs from the command line",
    "eval_share": "monitoring: the share of the time budget it may take",
}


def test_the_train_dock_shows_every_other_train_field_with_the_cli_default(qtbot) -> None:
    from napari_neurorbm._qt.train_autosave import AutosaveField
    from napari_neurorbm._qt.train_form import train_form

    parser = command_parser("train")
    flags = {flag: action for action in parser._actions for flag in action.option_strings}
    autosave = AutosaveField()
    form = train_form(extra=[autosave])
    shown = [i.name for i in form.infos]
    assert set(shown).isdisjoint(TRAIN_DOCKLESS)
    assert set(shown) | set(TRAIN_DOCKLESS) == {i.name for i in TrainConfig.fields()}
    for info in form.infos:
        assert flags[option(info)].dest == info.name
        assert form[info.name].tooltip.lower().startswith(info.spec.help[:20].lower()), info.name
    args = parser.parse_args(["RASTER.npz", "--out", "x"])
    assert form.config() == config_from_args(args, TrainConfig()) == TrainConfig()
    assert autosave.minutes() == args.autosave_minutes  # the dock's own setting, the CLI's option
    # numbers typed as text come back exactly as filled (no rounding to a spin box's decimals)
    form.fill(TrainConfig(lr=0.012345678901234567, minutes=2.5))
    assert form.lr.value != "0.0123457" and form.config().lr == 0.012345678901234567
    assert form.minutes.value == "2.5" and form.config().minutes == 2.5 and form.chosen == set()
