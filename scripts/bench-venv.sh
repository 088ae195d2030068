#!/usr/bin/env bash
# Creates (or reuses) the benchmark venv with the pinned ruff and bandit from PyPI.
#   usage: scripts/bench-venv.sh [VENV]     (default: target/bench-venv)
#   prints: the venv directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-target/bench-venv}
req="$here/bench-requirements.txt"
stamp="$venv/.requirements"
if [[ -f $stamp ]] && cmp -s "$req" "$stamp"; then
  echo "$venv"; exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$stamp"
echo "$venv"
