"""One entry point for every source: a path or an address (and, in an Allen cache, a session id) ->
Session."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from napari_neurorbm.data.allen import PROJECT, AllenCache
from napari_neurorbm.data.binned import load_binned_session
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.data.phy import load_phy
from napari_neurorbm.data.remote import is_url, open_remote
from napari_neurorbm.data.session import Session
from napari_neurorbm.data.spikeinterface import is_spikeinterface_folder, load_spikeinterface
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain

ACCEPTED = (
    "an NWB file (.nwb) or its address to stream it from (https://, s3://, a DANDI asset), a binned npz "
    "(.npz), a Kilosort/phy folder (with spike_times.npy), a SpikeInterface sorting or SortingAnalyzer "
    "folder "
    f"or an Allen Visual Behavior Neuropixels cache folder (with {PROJECT}-*/project_metadata)"
)


def source_kind(path: str | Path) -> str:
    """What ``path`` holds: "url" (an address), "nwb", "binned", "phy", "spikeinterface" or "allen"; anything
    else is a NeuroRBMError."""
    if is_url(str(path)):
        return "url"
    path = Path(path).expanduser()
    if not path.exists():
        raise NeuroRBMError(f"{path}: no such file or folder")
    if path.is_file():
        kind = {".nwb": "nwb", ".npz": "binned"}.get(path.suffix.lower())
    elif (path / "spike_times.npy").is_file():
        kind = "phy"
    elif is_spikeinterface_folder(path):
        kind = "spikeinterface"
    elif _is_allen_cache(path):
        kind = "allen"
    else:
        kind = None
    if kind is None:
        raise NeuroRBMError(f"{path.name}: not a recognised source; expected {ACCEPTED}")
    return kind


def open_source(path: str | Path, session_id: int | None = None, stream: bool = True) -> Session:
    """Load any supported source as a Session (see :func:`iter_open_source`)."""
    return drain(iter_open_source(path, session_id, stream))


def iter_open_source(
    path: str | Path, session_id: int | None = None, stream: bool = True
) -> Generator[Progress, None, Session]:
    """Generator form of :func:`open_source`: yields download progress for an Allen session, returns it.

    An Allen session whose NWB file is not in the cache is streamed (only its units' bytes are read), or
    downloaded whole into the cache with ``stream=False``."""
    kind = source_kind(path)
    if kind != "url":
        path = Path(path).expanduser()
    if kind == "allen":
        if session_id is None:
            raise NeuroRBMError(f"{path.name} is an Allen cache: choose a session id (e.g. --session-id)")
        return (yield from AllenCache(path).iter_open(int(session_id), stream=stream))
    name = path if kind == "url" else path.name
    if session_id is not None:
        raise NeuroRBMError(f"{name}: a session id only applies to an Allen cache folder")
    loader = {
        "url": open_remote,
        "nwb": load_nwb,
        "binned": load_binned_session,
        "phy": load_phy,
        "spikeinterface": load_spikeinterface,
    }[kind]
    return loader(path)


def _is_allen_cache(path: Path) -> bool:
    """A versioned Allen VBN folder with project metadata, or a folder holding one or a release manifest."""
    if path.name.startswith(f"{PROJECT}-"):
        return (path / "project_metadata").is_dir()
    if any(path.glob(f"{PROJECT}_project_manifest_v*.json")):
        return True
    return any((v / "project_metadata").is_dir() for v in path.glob(f"{PROJECT}-*"))
