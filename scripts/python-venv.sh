#!/usr/bin/env bash
# Creates (or reuses) a pinned Python environment and pip-installs the
# isocheck adapter (adapters/python) into it.
#   usage: scripts/python-venv.sh [NAME]
#     (no NAME)  target/py-venv       from adapters/python/requirements.lock
#                (the set the pydantic-deep guide was written for)
#     NAME       target/py-venv-NAME  from adapters/python/requirements-NAME.lock
#   prints: the venv directory
# After install, adapters/python/import-check[-NAME].py must run cleanly in
# the venv: the whole pinned set imports together.
# Idempotent: the venv is rebuilt only when its lock changes, the adapter
# reinstalled only when its sources change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-}
if [[ -n $name && ! $name =~ ^[a-z0-9-]+$ ]]; then
  echo "python-venv.sh: bad set name '$name' (lowercase letters, digits, '-')" >&2
  exit 2
fi
suffix=${name:+-$name}
venv=$root/target/py-venv$suffix
lock=$root/adapters/python/requirements$suffix.lock
check=$root/adapters/python/import-check$suffix.py
if ! [[ -f $lock ]]; then
  echo "python-venv.sh: no lock file $lock" >&2
  exit 2
fi
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3

# One build or reinstall at a time per venv: test processes that start
# together (nextest runs a process per test) wait here instead of
# reinstalling the adapter under each other's imports.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.build-lock"
flock 9

if ! [[ -f $venv/.lock ]] || ! cmp -s "$lock" "$venv/.lock"; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$lock"
  if [[ -f $check ]]; then
    "$venv/bin/python" "$check"
  fi
  cp "$lock" "$venv/.lock"
  rm -f "$venv/.adapter"
fi

src_hash=$(cd "$root/adapters/python" && find pyproject.toml isocheck_adapter -name '*.py' -o -name '*.toml' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if ! [[ -f $venv/.adapter ]] || [[ $(cat "$venv/.adapter") != "$src_hash" ]]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$root/adapters/python"
  echo "$src_hash" > "$venv/.adapter"
fi
echo "$venv"
