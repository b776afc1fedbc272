"""An Allen Visual Behavior Neuropixels (VBN) cache folder, in allensdk's on-disk layout; downloads into it.

The layout is the one ``VisualBehaviorNeuropixelsProjectCache.from_s3_cache(cache_dir)`` writes, so a
folder filled by either tool serves the other::

    CACHE/visual-behavior-neuropixels_project_manifest_v0.5.0.json    release manifest (urls, blake2b hashes)
    CACHE/_manifest_last_used.txt, CACHE/_downloaded_data.json         allensdk's bookkeeping
    CACHE/visual-behavior-neuropixels-0.5.0/project_metadata/{ecephys_sessions,units,...}.csv
    CACHE/visual-behavior-neuropixels-0.5.0/behavior_ecephys_sessions/<id>/ecephys_session_<id>.nwb

Remote objects live in the public bucket under ``visual-behavior-neuropixels/<same relative path>`` and
``visual-behavior-neuropixels/manifests/<manifest name>``; they are fetched over HTTPS with urllib.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd

from napari_neurorbm.atomic import write_text
from napari_neurorbm.data.celltypes import WIDTH_COLUMN, check_widths
from napari_neurorbm.data.download import RemoteMissing, iter_download
from napari_neurorbm.data.nwb import load_nwb
from napari_neurorbm.data.remote import open_remote
from napari_neurorbm.data.session import UNKNOWN_AREA, Session
from napari_neurorbm.errors import NeuroRBMError
from napari_neurorbm.progress import Progress, drain

ALLEN_BUCKET_URL = "https://visual-behavior-neuropixels-data.s3.us-west-2.amazonaws.com"
URL_VARIABLE = "NEURORBM_ALLEN_URL"  # environment variable naming a mirror, for every AllenCache
PROJECT = "visual-behavior-neuropixels"
RELEASE = "0.5.0"  # the latest VBN release; a cache that already holds another one keeps it
SESSIONS_TABLE = "ecephys_sessions"
UNITS_TABLE = "units"
AREA_COLUMNS = ("structure_acronym", "ecephys_structure_acronym")
_MANIFEST = re.compile(rf"{re.escape(PROJECT)}_project_manifest_v(\d+(?:\.\d+)*)\.json")


class AllenCache:
    """A VBN cache folder: list its sessions, open one by id, download what is missing from ``base_url``.

    ``cache_dir`` is the folder given to allensdk (or the versioned ``visual-behavior-neuropixels-X.Y.Z``
    folder inside it). ``base_url`` defaults to ``$NEURORBM_ALLEN_URL``, else Allen's public bucket.
    ``release`` defaults to the one the folder already holds, else :data:`RELEASE`.
    """

    def __init__(
        self,
        cache_dir: str | Path,
        base_url: str | None = None,
        release: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        cache_dir = Path(cache_dir).expanduser()
        if cache_dir.name.startswith(f"{PROJECT}-"):
            release = release or cache_dir.name.removeprefix(f"{PROJECT}-")
            cache_dir = cache_dir.parent
        self.cache_dir = cache_dir
        self.base_url = (base_url or os.environ.get(URL_VARIABLE) or ALLEN_BUCKET_URL).rstrip("/")
        self.release = release or _local_release(cache_dir) or RELEASE
        self.timeout_s = timeout_s
        self._manifest: dict | None = None

    @property
    def project_dir(self) -> Path:
        return self.cache_dir / f"{PROJECT}-{self.release}"

    @property
    def manifest_path(self) -> Path:
        return self.cache_dir / f"{PROJECT}_project_manifest_v{self.release}.json"

    def table_path(self, table: str) -> Path:
        return self.project_dir / "project_metadata" / f"{table}.csv"

    def nwb_path(self, session_id: int) -> Path:
        """Where the session's NWB file is (or will be, once downloaded)."""
        sid = int(session_id)
        return self.project_dir / "behavior_ecephys_sessions" / str(sid) / f"ecephys_session_{sid}.nwb"

    def sessions(self, download: bool = True) -> pd.DataFrame:
        """One row per ecephys session: id, mouse, genotype, experience level, units, units per area.

        Missing metadata tables are downloaded; with ``download=False`` and no units.csv, the units per
        area stay empty (the unit count comes from the session table).
        """
        drain(self.iter_metadata((SESSIONS_TABLE, UNITS_TABLE) if download else (SESSIONS_TABLE,), download))
        table = self._session_table()
        units_csv = self.table_path(UNITS_TABLE)
        per_area = _units_per_area(units_csv) if units_csv.is_file() else pd.Series(dtype=int)
        ids = table["ecephys_session_id"].to_numpy()
        units = per_area.groupby(level=0).sum() if len(per_area) else pd.Series(dtype=int)
        counts = units.reindex(ids)
        if "unit_count" in table:  # sessions without rows in units.csv keep the session table's count
            counts = counts.fillna(pd.Series(table["unit_count"].to_numpy(), index=ids))
        return pd.DataFrame(
            {
                "session_id": ids,
                "mouse_id": _column(table, "mouse_id"),
                "genotype": _column(table, "genotype"),
                "experience_level": _column(table, "experience_level"),
                "units": counts.fillna(0).astype(int).to_numpy(),
                "areas": [_compact(per_area, sid) for sid in ids],
                "downloaded": [self.nwb_path(sid).is_file() for sid in ids],
            }
        )

    def open(self, session_id: int, download: bool = True, stream: bool = True) -> Session:
        """The session's units as a Session (see :meth:`iter_open`)."""
        return drain(self.iter_open(session_id, download, stream))

    def iter_open(
        self, session_id: int, download: bool = True, stream: bool = True
    ) -> Generator[Progress, None, Session]:
        """Check the id against the session table and load the session's NWB file: from the cache folder
        where it is there, else streamed from ``base_url`` (only the units' bytes, through the block cache of
        :mod:`.remote`), or downloaded whole into the cache folder first with ``stream=False``.
        ``download=False``: nothing remote is read."""
        yield from self.iter_metadata((SESSIONS_TABLE,), download)
        sid = self._known_id(session_id)
        path = self.nwb_path(sid)
        if not path.is_file():
            if not download:
                raise NeuroRBMError(f"session {sid} is not downloaded yet (no {path})")
            manifest = yield from self._iter_manifest()
            url, file_hash = self._remote(manifest, "data_files", f"/{sid}/{path.name}", path)
            if stream:
                return self._stream(sid, url)
            try:
                yield from iter_download(url, path, timeout_s=self.timeout_s, blake2b=file_hash)
            except RemoteMissing:
                raise NeuroRBMError(
                    f"session {sid}: {self.base_url} has no NWB file for it (unknown session?)"
                ) from None
            self._record_download(path, file_hash)
        return self._with_widths(load_nwb(path))

    def _with_widths(self, session: Session) -> Session:
        """Units whose NWB file gives no waveform width take the ``waveform_duration`` (ms) of their row in
        the cache's units.csv, when the cache holds that table (it is not downloaded for this)."""
        path = self.table_path(UNITS_TABLE)
        own = session.waveform_ms
        if (own is not None and np.isfinite(own).all()) or not path.is_file():
            return session
        found = _unit_widths(path).reindex(session.unit_ids).to_numpy(dtype=np.float64)
        widths = found if own is None else np.where(np.isfinite(own), own, found)
        session.waveform_ms = check_widths(widths, session.n_units)
        return session

    def _stream(self, sid: int, url: str) -> Session:
        """The session read by ranges from ``url`` (remote.open_remote)."""
        try:
            return open_remote(url, timeout_s=self.timeout_s)
        except RemoteMissing:
            missing = f"session {sid}: {self.base_url} has no NWB file for it (unknown session?)"
            raise NeuroRBMError(missing) from None

    def iter_metadata(
        self, tables: tuple[str, ...] = (SESSIONS_TABLE, UNITS_TABLE), download: bool = True
    ) -> Generator[Progress, None, None]:
        """Make sure the project metadata tables are in the cache, downloading the missing ones."""
        for table in tables:
            path = self.table_path(table)
            if path.is_file():
                continue
            if not download:
                raise NeuroRBMError(f"{self.cache_dir}: no {table}.csv in {path.parent} (downloads are off)")
            manifest = yield from self._iter_manifest()
            url, file_hash = self._remote(manifest, "metadata_files", f"/project_metadata/{path.name}", path)
            try:
                yield from iter_download(url, path, timeout_s=self.timeout_s, blake2b=file_hash)
            except RemoteMissing:
                missing = f"{self.base_url} has no {table}.csv for release {self.release}"
                raise NeuroRBMError(missing) from None
            self._record_download(path, file_hash)

    def _iter_manifest(self) -> Generator[Progress, None, dict]:
        """The release manifest, downloaded into the cache folder the first time it is needed."""
        if self._manifest is None:
            path = self.manifest_path
            if not path.is_file():
                url = f"{self.base_url}/{PROJECT}/manifests/{path.name}"
                try:
                    yield from iter_download(url, path, timeout_s=self.timeout_s)
                except RemoteMissing:
                    raise NeuroRBMError(
                        f"{self.base_url} has no release {self.release} of {PROJECT} (no {path.name})"
                    ) from None
                write_text(self.cache_dir / "_manifest_last_used.txt", path.name)
            try:
                self._manifest = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise NeuroRBMError(f"{path}: not a readable manifest ({exc})") from None
        return self._manifest

    def _remote(self, manifest: dict, kind: str, suffix: str, path: Path) -> tuple[str, str | None]:
        """URL on ``base_url`` (pinned to the release's object version) and blake2b hash of a file."""
        for entry in manifest.get(kind, {}).values():
            remote = urllib.parse.urlsplit(entry.get("url", ""))
            if remote.path.endswith(suffix):
                version = entry.get("version_id")
                query = f"?versionId={urllib.parse.quote(version)}" if version else ""
                return f"{self.base_url}{remote.path}{query}", entry.get("file_hash")
        relative = path.relative_to(self.project_dir).as_posix()
        return f"{self.base_url}/{PROJECT}/{relative}", None

    def _record_download(self, path: Path, file_hash: str | None) -> None:
        """Add the file to allensdk's record of downloads, so that allensdk trusts it too."""
        if file_hash is None:
            return
        record = self.cache_dir / "_downloaded_data.json"
        try:
            known = json.loads(record.read_text()) if record.is_file() else {}
        except ValueError:
            known = {}
        known[str(path.resolve())] = file_hash
        write_text(record, json.dumps(known, indent=2, sort_keys=True))

    def _session_table(self) -> pd.DataFrame:
        path = self.table_path(SESSIONS_TABLE)
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise NeuroRBMError(f"{path}: not a readable table ({exc.__class__.__name__})") from None
        if "ecephys_session_id" not in table:
            raise NeuroRBMError(f"{path}: no ecephys_session_id column")
        return table

    def _known_id(self, session_id: int) -> int:
        ids = self._session_table()["ecephys_session_id"].to_numpy()
        try:
            sid = int(session_id)
        except (TypeError, ValueError):
            sid = None
        if sid is None or sid not in set(ids.tolist()):
            raise NeuroRBMError(
                f"unknown session id {session_id}: the cache's session table lists {len(ids)} sessions "
                "(see `neurorbm sessions CACHE_DIR`)"
            )
        return sid


def _local_release(cache_dir: Path) -> str | None:
    """The release this folder already holds: the manifest last used, else the newest one present."""
    last = cache_dir / "_manifest_last_used.txt"
    if last.is_file():
        match = _MANIFEST.fullmatch(last.read_text().strip())
        if match and (cache_dir / match.group(0)).is_file():
            return match.group(1)
    found = [m.group(1) for p in cache_dir.glob("*.json") if (m := _MANIFEST.fullmatch(p.name))]
    found += [p.name.removeprefix(f"{PROJECT}-") for p in cache_dir.glob(f"{PROJECT}-*") if p.is_dir()]
    found = [v for v in found if re.fullmatch(r"\d+(\.\d+)*", v)]
    return max(found, key=lambda v: tuple(map(int, v.split(".")))) if found else None


def _units_per_area(path: Path) -> pd.Series:
    """Units per (session id, area) from units.csv; units without an area count as "unknown"."""
    try:
        head = pd.read_csv(path, nrows=0).columns
        area = next((c for c in AREA_COLUMNS if c in head), None)
        units = pd.read_csv(path, usecols=[c for c in ("ecephys_session_id", area) if c in head])
    except (OSError, ValueError) as exc:
        raise NeuroRBMError(f"{path}: not a readable table ({exc.__class__.__name__})") from None
    if "ecephys_session_id" not in units:
        raise NeuroRBMError(f"{path}: no ecephys_session_id column")
    areas = units[area].fillna(UNKNOWN_AREA).astype(str) if area else pd.Series(UNKNOWN_AREA, units.index)
    return units.groupby(["ecephys_session_id", areas.rename("area")]).size()


def _unit_widths(path: Path) -> pd.Series:
    """``waveform_duration`` (ms) by unit id from units.csv (empty when the table has no such column)."""
    try:
        head = pd.read_csv(path, nrows=0).columns
        if not {"unit_id", WIDTH_COLUMN} <= set(head):
            return pd.Series(dtype=np.float64)
        units = pd.read_csv(path, usecols=["unit_id", WIDTH_COLUMN])
    except (OSError, ValueError) as exc:
        raise NeuroRBMError(f"{path}: not a readable table ({exc.__class__.__name__})") from None
    widths = pd.to_numeric(units[WIDTH_COLUMN], errors="coerce")
    return widths.groupby(units["unit_id"]).first()


def _compact(per_area: pd.Series, session_id: int) -> str:
    """'VISp 120, CA1 95, ...': units per area, largest first."""
    if session_id not in per_area.index.get_level_values(0):
        return ""
    counts = per_area.loc[session_id]
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{area} {n}" for area, n in order)


def _column(table: pd.DataFrame, name: str) -> np.ndarray | str:
    return table[name].to_numpy() if name in table else ""
