#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver, for the test that drives GraphiQL in a headless browser.
# Idempotent: does nothing when both are on PATH. Needs root (CI runs as root) or sudo.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
echo "== installing Debian's chromium and chromium-driver (GraphiQL browser test)"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium chromium-driver >/dev/null
