#!/usr/bin/env bash
# Set up from nothing and run the main job: napari with the synthetic demo session and every NeuroRBM widget;
# without a display, the same pipeline headless, writing its report to ./neurorbm-output (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/neurorbm demo --out "${1:-neurorbm-output}"
