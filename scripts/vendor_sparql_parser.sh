#!/usr/bin/env bash
# Build kg/sparql/vendor/sparql-analyzer.js: Traqula's SPARQL 1.2 parser and algebra translator
# (the Comunica project's), bundled with our analyzer (kg/sparql/js/analyzer.mjs) by esbuild for
# the embedded V8 that kg.sparql.parse runs (mini-racer). The build applies two fixes to Traqula
# 1.3.1 and fails if either no longer applies (kg/sparql/js/build.mjs says which and why).
#
# Versions are pinned in kg/sparql/js/package.json and locked, with integrity hashes, in
# kg/sparql/js/package-lock.json; `npm ci` installs exactly those. Writes VERSIONS.txt beside the
# bundle (package@version and the bundle's sha256). Idempotent: a second run rewrites the same
# bytes. Needs node, npm and the npm registry; the tests need none of them.
# Usage: bash scripts/vendor_sparql_parser.sh
set -euo pipefail
cd "$(dirname "$0")/../kg/sparql/js"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp package.json package-lock.json analyzer.mjs build.mjs "$work/"
(cd "$work" && npm ci --silent --no-audit --no-fund && node build.mjs "$work/sparql-analyzer.js")

dest=../vendor
mkdir -p "$dest"
cp "$work/sparql-analyzer.js" "$dest/sparql-analyzer.js"
{
    echo "# Written by scripts/vendor_sparql_parser.sh; do not edit by hand."
    (cd "$work" && node -e '
        const lock = require("./package-lock.json");
        for (const [path, entry] of Object.entries(lock.packages)) {
            if (path && !entry.dev) console.log(`${path.replace(/^.*node_modules\//, "")}@${entry.version}`);
        }')
    echo "sparql-analyzer.js sha256 $(sha256sum "$dest/sparql-analyzer.js" | cut -d' ' -f1)"
} >"$dest/VERSIONS.txt"
echo "== built $dest/sparql-analyzer.js ($(du -h "$dest/sparql-analyzer.js" | cut -f1))"
