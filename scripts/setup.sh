#!/usr/bin/env bash
# Set up ModelKG on a fresh machine: a virtualenv in .venv holding exactly the packages pinned,
# with their hashes, in requirements.lock (torch is the CPU build, 2.13.0+cpu: an unpinned torch
# pulls gigabytes of CUDA), then the project itself, editable, without resolving anything.
# Idempotent: a second run only compares a stamp (hash of the lock, pyproject.toml and this file).
# Refresh the lock with the pip-compile command in the README ("Two commands").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -f requirements.lock ]; then
    echo "scripts/setup.sh: requirements.lock is missing; restore it (git checkout requirements.lock)" \
        "or regenerate it with the pip-compile command in README.md" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
stamp=.venv/.modelkg-setup
want="$(sha256sum requirements.lock pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # Every package, pip and setuptools included, at its locked version and hash; a package the
    # lock does not name (say a CUDA torch's nvidia-* dependencies) is refused, not installed.
    # torch 2.13.0+cpu comes from pip's configured find-links or index (this machine's
    # /etc/xdg/pip/pip.conf; elsewhere PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
    "${PIP[@]}" install --require-hashes -r requirements.lock
    # The project: its dependencies are all in the lock, and its build backend (setuptools,
    # wheel) too, so nothing is resolved or downloaded here.
    "${PIP[@]}" install --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
fi
