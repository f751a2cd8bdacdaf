#!/usr/bin/env bash
# Set up ModelKG on a fresh machine: a virtualenv in .venv with torch (CPU, pinned) installed
# first, then the project and its dev tools. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
stamp=.venv/.modelkg-setup
want="$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "${PIP[@]}" install --upgrade pip
    # torch first and pinned: an unpinned torch (asked for by any dependency) pulls GBs of CUDA.
    "${PIP[@]}" install "torch==2.13.0"
    "${PIP[@]}" install -e ".[dev]"
    echo "$want" > "$stamp"
fi
