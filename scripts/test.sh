#!/usr/bin/env bash
# Set up from nothing (system packages, venv, plugin) and run the whole test suite under a virtual screen.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks
# pytest-xvfb starts Xvfb for the GUI tests; napari's canvas needs its OpenGL (never QT_QPA_PLATFORM=offscreen).
exec .venv/bin/python -m pytest "$@"
