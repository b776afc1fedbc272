"""The Analyses dock on the real recordings (issue 10): for each recording of ../shared/data/real (Steinmetz
hench, Steinmetz forssmann, the Tkačik retina) load its raster in a napari viewer, load or train a small RBM,
generate activity from it, open the Analyses dock and run every tab of analyses_widget.TABS through its own
Run button (a tab whose inputs are missing is skipped with its reason), then save a screenshot of the window
per tab at 1920 x 1080 and 1366 x 768 (of a skipped tab too: it shows why), each tab's export (its curves as
CSV, its figure as PNG) and a summary.json of each tab's numbers (its describe() text).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/analyses_real.py --out shots/

The tabs run with their defaults; ``--set TAB.FIELD=VALUE`` changes one field of a tab's form (e.g.
``--set heat.sweeps=200``). A model already in --out is reused, so a rerun only repeats the analyses.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
RECORDINGS = {"hench": "steinmetz2019_hench_2017-06-15.npz",  # 1157 units, 15 areas, 10 ms bins, 10000 frames
              "forssmann": "steinmetz2019_forssmann_2017-11-01.npz",  # 1769 units, 11 areas, 9960 frames
              "retina": "tkacik2014_retina50.npz"}  # 50 cells, 20 ms bins, 283 041 frames
SIZES = [(1920, 1080), (1366, 768)]
GENERATED_CHAINS = 10


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="folder for the models, screenshots and summary")
    p.add_argument("--real", type=Path, default=REAL, help=f"folder of the real recordings (default {REAL})")
    p.add_argument("--recordings", default=",".join(RECORDINGS),
                   help=f"which, comma-separated (default {','.join(RECORDINGS)})")
    p.add_argument("--hidden", type=int, default=64, help="hidden units of the RBM (default 64)")
    p.add_argument("--minutes", type=float, default=1.0, help="training time budget in minutes (default 1)")
    p.add_argument("--generate", type=int, default=20_000,
                   help=f"frames generated in {GENERATED_CHAINS} chains (default 20000; 0: none)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="TAB.FIELD=VALUE",
                   help="a setting of a tab's form, e.g. heat.sweeps=200 (repeatable)")
    p.add_argument("--tab-minutes", type=float, default=15.0,
                   help="stop a tab's job after this many minutes (default 15)")
    return p.parse_args(argv)


def overrides(settings: list[str]) -> dict[str, dict[str, str]]:
    """``TAB.FIELD=VALUE`` items -> {tab: {field: text}}."""
    out: dict[str, dict[str, str]] = {}
    for item in settings:
        key, _, value = item.partition("=")
        tab, _, field = key.partition(".")
        if not (tab and field and _):
            raise SystemExit(f"--set wants TAB.FIELD=VALUE, not {item!r}")
        out.setdefault(tab, {})[field] = value
    return out


def load(path: Path):
    """The recording at its native bins, binarized: (session, raster)."""
    from napari_neurorbm.configs import BinningConfig
    from napari_neurorbm.data.binning import binarize
    from napari_neurorbm.data.sources import open_source

    session = open_source(path)
    return session, binarize(session, BinningConfig(bin_ms=None))


def model_for(raster, path: Path, hidden: int, minutes: float):
    """The RBM at ``path``, trained first (``minutes`` of wall time, cheap updates) when it is not there."""
    from napari_neurorbm.progress import drain
    from napari_neurorbm.rbm.io import load_model
    from napari_neurorbm.rbm.training import TrainConfig, iter_train

    if not path.exists():
        config = TrainConfig(n_hidden=hidden, k=5, batch=500, chains=500, updates=10_000_000, minutes=minutes,
                             eval_every=0, checkpoints=0, ptt_sweeps=0, device="cpu")
        t0 = time.perf_counter()
        trainer = drain(iter_train(raster, config))
        trainer.save(path)
        print(f"[analyses_real] trained {path.parent.name}/{path.name}: {trainer.update} updates in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    return load_model(path)


def generated_for(model, raster, frames: int):
    """``frames`` frames generated from ``model`` (chains started on training frames, the paper's tau), as
    the Generate dock leaves them; None for 0 frames."""
    from napari_neurorbm._qt.model_runs import model_raster
    from napari_neurorbm.analysis.generation import iter_generate
    from napari_neurorbm.progress import drain

    if frames <= 0:
        return None
    run = drain(iter_generate(model.rbm, frames, chains=GENERATED_CHAINS, init="data",
                              data=raster.frames("train"), device="cpu"))
    return model_raster(run.frames, run.segment_starts, raster, "generated")


def settle(seconds: float = 0.3) -> None:
    """Let Qt draw for a moment."""
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def fill(tab, values: dict[str, str]) -> None:
    """Type ``values`` into the tab's form as a user would."""
    from napari_neurorbm._qt.forms import parse as parse_field

    infos = {info.name: info for info in tab.form.infos}
    for field, text in values.items():
        if field not in infos:
            raise SystemExit(f"the {tab.name} tab has no setting {field!r} (it has {', '.join(infos)})")
        tab.form.fill(**{field: parse_field(infos[field], text)})


def run_tab(tab, limit_s: float) -> dict:
    """Click the tab's Run and wait for its job; what came of it (seconds, describe() text or the failure)."""
    failures: list[str] = []
    tab.failed.connect(failures.append)
    t0 = time.perf_counter()
    tab.run_button.click()
    while tab.worker is not None and time.perf_counter() - t0 < limit_s:
        settle(0.1)
    if tab.worker is not None:
        tab.run_button.click()  # Stop
        while tab.worker is not None:
            settle(0.1)
        failures.append(f"stopped after {limit_s:.0f} s")
    seconds = round(time.perf_counter() - t0, 1)
    tab.failed.disconnect(failures.append)
    if tab.result is None:
        return {"seconds": seconds, "failed": failures[-1] if failures else tab.message.text()}
    return {"seconds": seconds, "settings": _jsonable(tab.form.config()), "numbers": tab.describe(tab.result)}


def _jsonable(config) -> dict:
    return {info.name: getattr(config, info.name) for info in type(config).fields()}


def analyse(key: str, args: argparse.Namespace, settings: dict[str, dict[str, str]]) -> dict:
    """One recording through every tab; screenshots into --out/KEY/; its summary."""
    import napari

    from napari_neurorbm._qt.raster_layers import add_raster_layers
    from napari_neurorbm._qt.state import get_state

    folder = args.out / key
    folder.mkdir(parents=True, exist_ok=True)
    session, raster = load(args.real / RECORDINGS[key])
    model = model_for(raster, folder / f"rbm{args.hidden}.npz", args.hidden, args.minutes)
    generated = generated_for(model, raster, args.generate)
    viewer = napari.Viewer()
    window = viewer.window._qt_window
    window.resize(*SIZES[0])
    add_raster_layers(viewer, raster, session=session)
    state = get_state(viewer)
    state.model, state.generated = model, generated
    dock = viewer.window.add_plugin_dock_widget("napari-neurorbm", "Analyses")[1]
    settle()
    trained = {"hidden": model.rbm.n_hidden, "updates": model.metadata["update"],
               "minutes": model.metadata["config"]["minutes"]}
    summary = {"recording": RECORDINGS[key], "units": raster.n_units, "frames": raster.n_frames,
               "bin_s": raster.bin_s, "model": trained, "generated_frames": args.generate, "tabs": {}}
    shown = []
    for i, tab in enumerate(dock.by_name.values()):
        dock.tabs.setCurrentIndex(i)
        fill(tab, settings.get(tab.name, {}))
        need = tab.missing()
        if need:
            print(f"[analyses_real] {key} {tab.name}: skipped: {need}", flush=True)
            summary["tabs"][tab.name] = {"skipped": need}
            shown.append((i, tab))  # its screenshot shows the line that says why
            continue
        outcome = run_tab(tab, 60 * args.tab_minutes)
        if tab.result is not None:
            tab.export(folder / f"{key}_{tab.name}.csv")
        summary["tabs"][tab.name] = outcome
        print(f"[analyses_real] {key} {tab.name} ({outcome['seconds']:.0f} s): "
              f"{outcome.get('numbers') or outcome.get('failed')}", flush=True)
        shown.append((i, tab))
    for width, height in SIZES:
        window.resize(width, height)
        for i, tab in shown:
            dock.tabs.setCurrentIndex(i)
            settle()
            viewer.screenshot(str(folder / f"{key}_{width}x{height}_{tab.name}.png"), canvas_only=False,
                              flash=False)
    viewer.close()
    return summary


def run(argv: list[str] | None = None) -> None:
    from napari_neurorbm.atomic import write_text

    args = parse(argv)
    args.out = args.out.expanduser().resolve()
    settings = overrides(args.settings)
    keys = [k.strip() for k in args.recordings.split(",") if k.strip()]
    unknown = [k for k in keys if k not in RECORDINGS]
    if unknown:
        raise SystemExit(f"unknown recordings {unknown}: choose from {', '.join(RECORDINGS)}")
    summary = {}
    for key in keys:
        t0 = time.perf_counter()
        summary[key] = analyse(key, args, settings)
        summary[key]["seconds"] = round(time.perf_counter() - t0)
        print(f"[analyses_real] {key}: {summary[key]['seconds']} s", flush=True)
        write_text(args.out / "summary.json", json.dumps(summary, indent=2, default=str))
    print(f"[analyses_real] summary: {args.out / 'summary.json'}")


if __name__ == "__main__":
    run()
