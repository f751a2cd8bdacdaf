#!/usr/bin/env bash
# Debian's graphviz: its `dot` draws the lineage pictures on the web pages (resolvers/pictures).
# Idempotent: does nothing when `dot` is on PATH. Needs root (CI runs as root) or sudo.
set -euo pipefail
if command -v dot >/dev/null 2>&1; then
    exit 0
fi
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
echo "== installing Debian's graphviz (lineage pictures)"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq graphviz >/dev/null
