"""``neurorbm info``: what a model file holds: sizes, areas, training configuration, best checkpoint, LL."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from napari_neurorbm.rbm.io import ModelFile, load_model


def add_parser(sub: argparse._SubParsersAction, name: str) -> None:
    p = sub.add_parser(
        name,
        help="describe a model file",
        description="Print the sizes, areas, bin width, training configuration, selected (best) checkpoint, "
        "log-likelihood history and checkpoints of a model file written by neurorbm train.",
    )
    p.add_argument("model", metavar="MODEL.npz", help="a model file")
    p.add_argument("--json", action="store_true", help="print one JSON object (the metadata plus sizes)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if args.json:
        meta = {k: v for k, v in model.metadata.items() if k != "split"}
        print(
            json.dumps(
                {
                    **meta,
                    "n_visible": model.rbm.n_visible,
                    "n_hidden": model.rbm.n_hidden,
                    "checkpoint_updates": [u for u, _ in model.checkpoints],
                }
            )
        )
    else:
        print("\n".join(describe(model)))
    return 0


def describe(model: ModelFile) -> list[str]:
    """Human-readable lines; every metadata key is optional."""
    meta, rbm = model.metadata, model.rbm
    lines = [
        f"model    {rbm.n_visible} visible x {rbm.n_hidden} hidden units "
        f"({rbm.n_visible * rbm.n_hidden + rbm.n_visible + rbm.n_hidden} parameters)"
    ]
    if model.areas is not None:
        names, counts = np.unique(model.areas, return_counts=True)
        lines.append(
            f"areas    {len(names)}: " + ", ".join(f"{a} {n}" for a, n in zip(names, counts, strict=True))
        )
    if model.bin_s is not None:
        lines.append(f"bins     {model.bin_s * 1e3:g} ms")
    cfg = meta.get("config")
    if cfg:
        lines.append("config   " + ", ".join(f"{k}={v}" for k, v in cfg.items()))
    if "n_train" in meta:
        lines.append(f"frames   train {meta['n_train']}, test {meta.get('n_test', '?')}")
    if "update" in meta:
        lines.append(f"trained  {meta['update']} updates" + ("  (DIVERGED)" if meta.get("diverged") else ""))
    best = meta.get("best")
    if best:
        lines.append(
            f"best     update {best['update']}: test LL {best['test_ll']:.4f}, train LL "
            f"{best.get('train_ll', math.nan):.4f} nats/frame, log Z {best.get('log_z', math.nan):.4f}"
        )
    if meta.get("independent_test_ll") is not None:
        lines.append(f"baseline independent units: test LL {meta['independent_test_ll']:.4f}")
    if "selected_update" in meta:
        lines.append(f"selected update {meta['selected_update']} ({meta.get('selected_by', '?')})")
    hist = meta.get("history") or []
    for h in hist[-5:]:
        test = "-" if h.get("test_ll") is None else f"{h['test_ll']:.4f}"
        lines.append(
            f"LL       update {h['update']}: train {h['train_ll']:.4f}, test {test} "
            f"(log Z {h['log_z']:.4f}, {h.get('log_z_method', '?')})"
        )
    if model.checkpoints:
        ups = [u for u, _ in model.checkpoints]
        lines.append(f"ckpts    {len(ups)}: updates {ups[0]} .. {ups[-1]}")
    else:
        lines.append("ckpts    none")
    return lines
