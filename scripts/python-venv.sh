#!/usr/bin/env bash
# Creates (or reuses) target/py-venv from adapters/python/requirements.lock
# and pip-installs the isocheck adapter (adapters/python) into it.
#   usage: scripts/python-venv.sh [VENV]     (default: target/py-venv)
#   prints: the venv directory
# Idempotent: the venv is rebuilt only when the lock changes, the adapter
# reinstalled only when its sources change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/target/py-venv}
lock="$root/adapters/python/requirements.lock"
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3

if ! [[ -f $venv/.lock ]] || ! cmp -s "$lock" "$venv/.lock"; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$lock"
  # The whole set must import together.
  "$venv/bin/python" -c 'import pydantic_deep, pydantic_ai_backends, pydantic_ai, docker; from pydantic_deep import create_deep_agent, DeepAgentDeps, InMemoryCheckpointStore, FileCheckpointStore; from pydantic_ai_backends import StateBackend, LocalBackend, DockerSandbox, SessionManager'
  cp "$lock" "$venv/.lock"
  rm -f "$venv/.adapter"
fi

src_hash=$(cd "$root/adapters/python" && find pyproject.toml isocheck_adapter -name '*.py' -o -name '*.toml' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if ! [[ -f $venv/.adapter ]] || [[ $(cat "$venv/.adapter") != "$src_hash" ]]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$root/adapters/python"
  echo "$src_hash" > "$venv/.adapter"
fi
echo "$venv"
