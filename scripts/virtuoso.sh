#!/usr/bin/env bash
# Debian's Virtuoso (virtuoso-t, isql-vt), the second SPARQL server the remote-store tests run
# against (tests/conftest.py: virtuoso_server starts its own on 127.0.0.1; the packaged service
# is never started). Idempotent: does nothing when virtuoso-t is on PATH. Needs root (CI runs as
# root) or sudo.
set -euo pipefail
if command -v virtuoso-t >/dev/null 2>&1; then
    exit 0
fi
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
echo "== installing Debian's virtuoso-opensource (the remote store's second engine)"
"${as_root[@]}" apt-get update -qq
# Recommends would add the Conductor web UI and a start page: the tests need neither. The
# package's debconf asks for a dba password; unanswered, the packaged database keeps its default,
# and the tests never use that database.
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    virtuoso-opensource >/dev/null
