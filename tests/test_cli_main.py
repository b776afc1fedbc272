"""The `neurorbm` entry point: subcommands imported lazily (a fast top-level help) and progress on stderr."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from napari_neurorbm.cli import COMMANDS, _common, chosen_command, main
from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.progress import Progress

HEAVY = ("torch", "matplotlib", "pandas", "h5py")


def test_top_level_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\nfrom napari_neurorbm.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
        f"    pass\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
    for name, (_, text) in COMMANDS.items():
        assert name in done.stdout and text.split()[0] in done.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_table_has_each_command_s_own_help(name: str) -> None:
    sub = argparse.ArgumentParser().add_subparsers()
    module, text = COMMANDS[name]
    importlib.import_module(f"napari_neurorbm.cli.{module}").add_parser(sub, name)
    assert sub._choices_actions[0].help == text


def test_the_chosen_command_is_the_first_word(capsys) -> None:
    assert chosen_command(["--help"]) is None and chosen_command(["nothing", "info"]) is None
    assert chosen_command(["-h", "info", "model.npz"]) == "info"
    with pytest.raises(SystemExit) as stop:
        main(["info", "--help"])  # the full help of the command, its module imported
    assert stop.value.code == 0 and "--json" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main(["bogus"])
    assert stop.value.code == 2 and "invalid choice: 'bogus'" in capsys.readouterr().err


class Clock:
    """A stand-in for time.monotonic that the job moves forward."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def job(clock: Clock, events: list[tuple[float, str, int, int]]):
    """Progress events (time, stage, done, total) at the given times; returns 'done'."""
    for t, stage, done, total in events:
        clock.now = t
        yield Progress(stage, done, total, "working")
    return "done"


EVENTS = [(0, "read", 0, 4), (10, "read", 1, 4), (31, "read", 2, 4), (45, "read", 3, 4), (62, "read", 4, 4),
          (70, "bin", 0, 2), (80, "bin", 2, 2)]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(_common, "monotonic", clock)
    return clock


def test_a_short_job_leaves_a_log_silent(clock: Clock, capsys) -> None:
    assert run_shown(job(clock, [(t / 10, *rest) for t, *rest in EVENTS])) == "done"
    assert capsys.readouterr().err == ""  # so that an error message stays the only line


def test_a_log_gets_a_line_every_30_s(clock: Clock, capsys) -> None:
    run_shown(job(clock, EVENTS))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines  # at 31 s, at 62 s (also the stage's end); 'bin' took 10 s: no line
    assert lines[0].startswith("read:  50%") and "2/4 [00:31<" in lines[0] and "working" in lines[0]
    assert lines[1].startswith("read: 100%") and "4/4" in lines[1]


def test_a_log_can_announce_each_stage(clock: Clock, capsys) -> None:
    run_shown(job(clock, EVENTS), announce_stages=True)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["read", "read", "read", "bin", "bin"]
    assert "0/4" in lines[0] and "0/2" in lines[3] and "2/2" in lines[4]


def test_a_terminal_gets_a_tqdm_bar_per_stage(clock: Clock, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run_shown(job(clock, EVENTS))
    err = capsys.readouterr().err
    assert "\r" in err and "read: 100%" in err and "4/4" in err and "bin: 100%" in err and "2/2" in err
