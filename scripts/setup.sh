#!/usr/bin/env bash
# Set up everything from nothing: system packages for a virtual screen, a venv, the plugin and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${NEURORBM_VENV:-.venv}

need_apt=()
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
for pkg in libgl1 libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
           libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 libxcb-randr0 libxcb-render-util0 \
           libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libdbus-1-3 libfontconfig1 libglib2.0-0; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q -c constraints.txt)
"$VENV/bin/python" -c "import torch" 2>/dev/null || "${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -e ".[testing]"
echo "setup: ready in $VENV"
