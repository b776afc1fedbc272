"""``neurorbm demo``: the main job. napari with the demo session and every widget, or headless, files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

from napari_neurorbm.cli._common import run_shown
from napari_neurorbm.pipeline import DemoConfig, iter_pipeline


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="open napari with the synthetic demo session and all widgets (headless: run the pipeline)",
        description=(
            "With a display, open napari with the synthetic multi-area session (a ground-truth RBM with "
            "brain-area structure) and dock every NeuroRBM widget. Without a display (or with --headless), "
            "run the same pipeline without a screen: binarize, train an RBM, compare generated and real "
            "statistics, compute the effective couplings, and write every product and a report into --out."
        ),
    )
    p.add_argument(
        "--out",
        default="neurorbm-output",
        metavar="DIR",
        help="folder for the headless pipeline's files (default ./neurorbm-output)",
    )
    p.add_argument("--headless", action="store_true", help="run the pipeline even when a display is present")
    p.add_argument(
        "--updates",
        type=int,
        default=DEMO.updates,
        metavar="N",
        help=f"PCD updates of the headless run (default {DEMO.updates})",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return _headless(args)
    import napari

    show_demo(napari.Viewer(title="NeuroRBM demo"))
    napari.run()
    return 0


def show_demo(viewer) -> None:
    """Open the synthetic session in ``viewer`` and dock every NeuroRBM widget, as the main job does."""
    viewer.open_sample("napari-neurorbm", "synthetic")
    docks = [  # one dock column, one tab per step, the first step in front
        viewer.window.add_plugin_dock_widget("napari-neurorbm", widget, tabify=i > 0)[0]
        for i, widget in enumerate(WIDGETS)
    ]
    docks[0].raise_()
    viewer.reset_view()


def _headless(args: argparse.Namespace) -> int:
    print(f"no display: running the pipeline headless into {args.out}/", file=sys.stderr)
    job = iter_pipeline(args.out, replace(DEMO, updates=args.updates))
    summary = run_shown(job, announce_stages=True)  # a log gets a line as each stage begins
    print(json.dumps(summary, indent=2))
    print(f"report: {os.path.join(args.out, 'report', 'index.html')}", file=sys.stderr)
    return 0


DEMO = DemoConfig()
WIDGETS = ("Load & binarize", "Train RBM", "Generate", "Clamp", "Couplings", "Analyses")
