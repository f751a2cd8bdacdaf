#!/usr/bin/env bash
# Vendor GraphiQL and React into resolvers/static/graphiql, so the GraphiQL page served at
# /graphql works offline: the browser loads every script and stylesheet from our app, never from
# a CDN (tests/resolvers/test_graphiql.py proves it with a browser that cannot resolve any host).
#
# Fetches the pinned npm tarballs with `npm pack` into a temporary directory, copies out only the
# UMD builds the page loads and each package's LICENSE, and writes VERSIONS.txt (package@version
# and sha256 of each file). GraphiQL 3.9.0 is the newest 3.x, which ships its UMD build as
# graphiql.min.js; React 18.3.1 is the last React with UMD builds (React 19 dropped them).
#
# Idempotent: a second run rewrites the same bytes. Leaves our own files there alone
# (graphiql-init.js, graphiql-page.css). Needs node, npm and the npm registry.
# Usage: bash scripts/vendor_graphiql.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL=3.9.0
REACT=18.3.1
dest=resolvers/static/graphiql

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== npm pack graphiql@$GRAPHIQL react@$REACT react-dom@$REACT"
npm pack --silent --pack-destination "$work" \
    "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null

# unpack NAME VERSION: the tarball's `package/` folder as $work/NAME
unpack() {
    mkdir -p "$work/$1"
    tar -xzf "$work/$1-$2.tgz" -C "$work/$1" --strip-components=1
}
unpack graphiql "$GRAPHIQL"
unpack react "$REACT"
unpack react-dom "$REACT"

# Each row: package@version, the file inside the tarball, its name in $dest.
files=(
    "graphiql@$GRAPHIQL graphiql/graphiql.min.js graphiql.min.js"
    "graphiql@$GRAPHIQL graphiql/graphiql.min.css graphiql.min.css"
    "graphiql@$GRAPHIQL graphiql/LICENSE LICENSE.graphiql"
    "react@$REACT react/umd/react.production.min.js react.production.min.js"
    "react@$REACT react/LICENSE LICENSE.react"
    "react-dom@$REACT react-dom/umd/react-dom.production.min.js react-dom.production.min.js"
    "react-dom@$REACT react-dom/LICENSE LICENSE.react-dom"
)

mkdir -p "$dest"
versions="$work/VERSIONS.txt"
{
    echo "# Written by scripts/vendor_graphiql.sh from the npm registry; do not edit by hand."
    echo "# package@version  file  sha256"
} >"$versions"
for row in "${files[@]}"; do
    read -r package source name <<<"$row"
    cp "$work/$source" "$dest/$name"
    echo "$package  $name  $(sha256sum "$dest/$name" | cut -d' ' -f1)" >>"$versions"
done
cp "$versions" "$dest/VERSIONS.txt"

echo "== vendored into $dest"
du -ch "$dest"/* | tail -n1
