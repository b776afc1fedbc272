"""``neurorbm sessions``: list the sessions of an Allen Visual Behavior Neuropixels cache folder."""

from __future__ import annotations

import argparse

import pandas as pd

from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.data.allen import (
    ALLEN_BUCKET_URL,
    RELEASE,
    SESSIONS_TABLE,
    UNITS_TABLE,
    URL_VARIABLE,
    AllenCache,
)


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="list the sessions of an Allen Visual Behavior Neuropixels cache folder",
        description=(
            "Print one line per ecephys session of an Allen Visual Behavior Neuropixels cache folder "
            "(allensdk's on-disk layout): session id, mouse, genotype, experience level, number of units, "
            "units per brain area and whether its NWB file is already downloaded. Missing project "
            "metadata tables (ecephys_sessions.csv, units.csv) are downloaded first from Allen's public "
            "bucket. Open a session with `neurorbm binarize CACHE_DIR --session-id ID ...`."
        ),
    )
    p.add_argument(
        "cache_dir",
        metavar="CACHE_DIR",
        help="the cache folder (as given to allensdk) or the visual-behavior-neuropixels-X.Y.Z folder in it; "
        "created if missing",
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help=f"where the release lives: a mirror with the bucket's paths (default: ${URL_VARIABLE} if set, "
        f"else Allen's public bucket {ALLEN_BUCKET_URL})",
    )
    p.add_argument(
        "--release",
        metavar="X.Y.Z",
        help=f"data release to use (default: the one the folder already holds, else {RELEASE})",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="download nothing: list what the folder holds (no units per area without units.csv)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    cache = AllenCache(args.cache_dir, base_url=args.base_url, release=args.release)
    if not args.offline:
        run_shown(cache.iter_metadata((SESSIONS_TABLE, UNITS_TABLE)))
    table = cache.sessions(download=False)
    with pd.option_context("display.max_colwidth", None, "display.width", None):
        print(table.to_string(index=False))
    print(
        f"{len(table)} sessions, {int(table['downloaded'].sum())} downloaded, "
        f"release {cache.release} in {cache.project_dir}"
    )
    return 0
