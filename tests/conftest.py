"""Shared fixtures: the screenshot folder, helpers to grab viewers and widgets, captured notifications.

Nothing here imports Qt or napari at module level, so the core tests run without them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """tests/screenshots/, created on first use (git-ignored; look at the pictures after a GUI run)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def atomic_writes(monkeypatch) -> list[Path]:
    """The paths that atomic.py renamed into place during the test, in order: a file written any other way
    (straight to its name, where a crash would leave half of it) is not among them."""
    import napari_neurorbm.atomic as atomic

    done: list[Path] = []
    rename = atomic.os.replace

    def replace(src, dst):
        rename(src, dst)
        done.append(Path(dst))

    monkeypatch.setattr(atomic.os, "replace", replace)
    return done


@pytest.fixture
def real_data() -> Path:
    """The folder of real recordings (../shared/data/real); the test is skipped where it is absent."""
    if not REAL.is_dir():
        pytest.skip("../shared/data/real not present: the real recordings are not available here")
    return REAL


def save_viewer_screenshot(viewer, folder: Path, name: str):
    """Save the whole napari window (canvas, docks, status bar) as folder/name.png; return the RGBA array."""
    return viewer.screenshot(str(folder / f"{_safe(name)}.png"), canvas_only=False, flash=False)


def save_canvas_screenshot(viewer, folder: Path, name: str):
    """Save only the canvas as folder/name.png and return its RGBA array (what the GPU drew)."""
    return viewer.screenshot(str(folder / f"{_safe(name)}.png"), canvas_only=True, flash=False)


def save_widget_grab(widget, folder: Path, name: str) -> Path:
    """Save a Qt widget as it is drawn on screen as folder/name.png."""
    path = folder / f"{_safe(name)}.png"
    widget.grab().save(str(path))
    return path


@pytest.fixture(autouse=True)
def neurorbm_data_dir(tmp_path_factory, monkeypatch) -> Path:
    """The plugin's user data folder (the Train dock's autosaves) is a fresh temporary folder in every test,
    never the real one."""
    folder = tmp_path_factory.mktemp("neurorbm-data")
    monkeypatch.setenv("NEURORBM_DATA_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def neurorbm_cache_dir(tmp_path_factory, monkeypatch) -> Path:
    """The block cache of streamed remote files is a fresh temporary folder in every test, never the real
    one."""
    folder = tmp_path_factory.mktemp("neurorbm-cache")
    monkeypatch.setenv("NEURORBM_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def notifications():
    """Messages of the napari notifications (show_error, show_warning, ...) raised during the test."""
    from napari.utils.notifications import notification_manager

    seen: list = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
