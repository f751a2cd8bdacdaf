#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up, lint, type-check, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh
bash scripts/graphviz.sh
bash scripts/virtuoso.sh
export HF_HUB_OFFLINE=1
echo "== ruff"
.venv/bin/ruff check ontology kg codegen resolvers tests bench
.venv/bin/ruff format --check ontology kg codegen resolvers tests bench
echo "== import-linter (layers: resolvers -> codegen -> kg -> ontology)"
.venv/bin/lint-imports
echo "== mypy --strict"
.venv/bin/mypy --strict ontology kg codegen resolvers
echo "== pytest"
.venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup "$@"
