"""What the benchmark scripts share: their section of docs/performance.md, runs in fresh interpreters,
commands timed as a user runs them, the peer's virtual environment and the device's name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "performance.md"
# a Python with rbms==0.5.0 (see docs/performance.md): the .bench-venv, or NEURORBM_PEER_PYTHON
PEER_PYTHON = Path(os.environ.get("NEURORBM_PEER_PYTHON", ROOT / ".bench-venv" / "bin" / "python"))


def update_docs(mark: str, text: str, device: str = "cpu") -> None:
    """Replace the section ``<!-- mark -->`` of docs/performance.md (create the file or the section); a GPU
    run has a section of its own (``mark:cuda``) beside the CPU one."""
    if device != "cpu":
        mark = f"{mark}:{device.split(':')[0]}"
    section = f"<!-- {mark} -->\n{text.strip()}\n<!-- /{mark} -->"
    old = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    pattern = re.compile(rf"<!-- {re.escape(mark)} -->.*?<!-- /{re.escape(mark)} -->", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: section, old)
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(new)


def run_code(python: Path | str, code: str, args: list[str]) -> dict:
    """Run ``code`` in a fresh interpreter and return the JSON object on its last line of output."""
    out = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(f"{python} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_command(argv: list[str]) -> dict:
    """Wall time and peak memory of one command in a fresh process, as a user runs it: interpreter start-up,
    imports and writing included (the peak from wait4, this child's own)."""
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            sys.exit(f"{' '.join(argv)} failed:\n{log.read().decode()}")
    return {"seconds": seconds, "peak_bytes": usage.ru_maxrss * 1024}


def neurorbm_command() -> str:
    """The `neurorbm` console script beside this Python (the venv's), as a user calls it."""
    script = Path(sys.executable).with_name("neurorbm")
    if not script.exists():
        sys.exit(f"no {script}: install the package (pip install -e .) into this Python's environment")
    return str(script)


def peer_available(module: str) -> bool:
    """Whether the peer's venv exists and imports ``module``."""
    if not PEER_PYTHON.exists():
        return False
    return subprocess.run([str(PEER_PYTHON), "-c", f"import {module}"], capture_output=True).returncode == 0


def device_name(device: str) -> tuple[str, str]:
    """(device torch will use for ``device`` = auto/cpu/cuda, the GPU's name or '')."""
    code = (
        "import torch, sys; d = sys.argv[1]; d = ('cuda' if torch.cuda.is_available() else 'cpu') "
        "if d == 'auto' else d; print(d, torch.cuda.get_device_name() if d.startswith('cuda') else '')"
    )
    out = subprocess.run([sys.executable, "-c", code, device], capture_output=True, text=True, check=True)
    dev, _, gpu = out.stdout.strip().partition(" ")
    return dev, gpu


# The peer's model as rbms 0.5.0's own training starts it, as code for the peer's interpreter: it needs DATA
# (training frames x units, float32 on the device), NH, CHAINS and LR, and defines weights, params, chains,
# opt and the fit_batch_pcd update.
PEER_START = """
from torch.optim import SGD
from rbms.bernoulli_bernoulli.classes import BBRBM
from rbms.training.pcd import fit_batch_pcd
weights = torch.ones(len(DATA), device=DATA.device)
vbias = torch.logit(DATA.mean(0).clamp(1e-4, 1 - 1e-4))
params = BBRBM(torch.randn(DATA.shape[1], NH, device=DATA.device) * 1e-4, vbias,
               torch.zeros(NH, device=DATA.device))
params.init_grad()
for p in params.parameters():
    p.requires_grad_(False)
chains = params.init_chains(CHAINS)
opt = SGD(params.parameters(), lr=LR, maximize=True)
"""
