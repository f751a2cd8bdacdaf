#!/usr/bin/env bash
# Vendor YASGUI into resolvers/static/yasgui, so the SPARQL editor the app serves (at /sparql for
# a browser, and /sparql/editor) works offline: the browser loads every script and stylesheet
# from our app, never from a CDN (tests/resolvers/test_sparql_editor.py proves it with a browser
# that cannot resolve any host).
#
# YASGUI comes from @zazuko/yasgui, the maintained fork of TriplyDB's YASGUI (@triply/yasgui
# stopped at 4.2.28). Its UMD build (yasgui.min.js, global `Yasgui`) bundles the editor (YASQE,
# CodeMirror 5) and the results viewer (YASR, DataTables), and yasgui.min.css their styles; its
# icons are inline SVG, so nothing else is needed. The fork's defaults fetch nothing by
# themselves (prefix.cc is off, the prefix list is bundled); the LOV class/property completers,
# which would call lov.linkeddata.es, are switched off by our yasgui-init.js.
#
# Fetches the pinned npm tarball with `npm pack` into a temporary directory, copies out only the
# built files the page loads, and writes VERSIONS.txt (package@version, file, sha256). The npm
# tarball ships no license file although package.json says "license": "MIT", so LICENSE.yasgui
# is the upstream repository's LICENSE.txt (github.com/rdfjs/Yasgui, MIT), written below, with
# a header saying so; a future tarball that ships LICENSE* is copied instead.
#
# Idempotent: a second run rewrites the same bytes. Leaves our own files there alone
# (yasgui-init.js, yasgui-page.css). Needs node, npm and the npm registry.
# Usage: bash scripts/vendor_yasgui.sh
set -euo pipefail
cd "$(dirname "$0")/.."

YASGUI=4.6.2
package="@zazuko/yasgui@$YASGUI"
dest=resolvers/static/yasgui

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== npm pack $package"
tarball="$(npm pack --silent --pack-destination "$work" "$package")"
mkdir -p "$work/yasgui"
tar -xzf "$work/$tarball" -C "$work/yasgui" --strip-components=1
integrity="$(npm view "$package" dist.integrity)"

license="$work/yasgui/LICENSE.yasgui"
shipped="$(find "$work/yasgui" -maxdepth 1 -iname 'LICENSE*' | head -n1)"
if [ -n "$shipped" ]; then
    cp "$shipped" "$license"
else
    cat >"$license" <<'EOF'
@zazuko/yasgui ships no license file in its npm tarball; its package.json declares
"license": "MIT" (author: Triply <info@triply.cc>; contributors: Zazuko GmbH). The text below
is the LICENSE.txt of the YASGUI repository (https://github.com/rdfjs/Yasgui, forked from
https://github.com/TriplyDB/Yasgui).

The MIT License (MIT)

Copyright © 2018 Ruben Taelman

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
EOF
fi

# Each row: the file inside the unpacked tarball, its name in $dest.
files=(
    "build/yasgui.min.js yasgui.min.js"
    "build/yasgui.min.css yasgui.min.css"
    "LICENSE.yasgui LICENSE.yasgui"
)

mkdir -p "$dest"
versions="$work/VERSIONS.txt"
{
    echo "# Written by scripts/vendor_yasgui.sh from the npm registry; do not edit by hand."
    echo "# $package tarball integrity: $integrity"
    echo "# package@version  file  sha256"
} >"$versions"
for row in "${files[@]}"; do
    read -r source name <<<"$row"
    cp "$work/yasgui/$source" "$dest/$name"
    echo "$package  $name  $(sha256sum "$dest/$name" | cut -d' ' -f1)" >>"$versions"
done
cp "$versions" "$dest/VERSIONS.txt"

echo "== vendored into $dest"
du -ch "$dest"/* | tail -n1
