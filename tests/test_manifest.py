"""The npe2 manifest: valid, discovered by napari with its widgets, and shipped unchanged in a built wheel."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from npe2 import PluginManager, PluginManifest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "napari.yaml"
PLUGIN = "napari-neurorbm"


def test_npe2_validate_passes_with_imports() -> None:
    cmd = [sys.executable, "-m", "npe2", "validate", PLUGIN, "--imports"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout


def test_package_manifest_is_a_link_to_the_root_file() -> None:
    linked = ROOT / "src" / "napari_neurorbm" / "napari.yaml"
    assert linked.is_symlink() and linked.resolve() == MANIFEST.resolve()


def test_napari_discovers_the_plugin_and_its_contributions() -> None:
    pm = PluginManager()
    pm.discover()
    manifest = pm.get_manifest(PLUGIN)
    assert manifest == PluginManifest.from_file(MANIFEST)
    widgets = {w.display_name for w in manifest.contributions.widgets}
    assert {"Load & binarize", "Raster QC plots", "Model selection"} <= widgets
    assert [s.key for s in manifest.contributions.sample_data] == ["synthetic"]
    reader = manifest.contributions.readers[0]
    assert set(reader.filename_patterns) == {"*.nwb", "*.npz"}
    for command in manifest.contributions.commands:
        module, _, attr = command.python_name.partition(":")
        assert hasattr(importlib.import_module(module), attr), command.python_name


def test_built_wheel_ships_the_same_manifest(tmp_path: Path) -> None:
    have_backend = importlib.util.find_spec("hatchling") is not None
    offline = ["--no-isolation"] if have_backend else []  # use the installed backend when there is one
    cmd = [sys.executable, "-m", "build", "--wheel", *offline, "--outdir", str(tmp_path), str(ROOT)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and not have_backend and "hatchling" in done.stdout + done.stderr:
        pytest.skip("the build backend (hatchling) is neither installed nor downloadable here")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = tmp_path.glob("napari_neurorbm-*.whl")
    with zipfile.ZipFile(wheel) as z:
        shipped = z.read("napari_neurorbm/napari.yaml")
        entry_points = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")))
    assert shipped == MANIFEST.read_bytes()
    assert b"[napari.manifest]" in entry_points and b"napari_neurorbm:napari.yaml" in entry_points
