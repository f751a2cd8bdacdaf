"""Read one model source into its graph: the one place that calls every file reader.

`read_source` is pure (files in, triples out), so it runs in worker processes; validation and
the store write happen afterwards, in the parent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

from kg.ingest.adapter import read_adapter_config
from kg.ingest.config_json import read_config, read_quantization
from kg.ingest.draft import ModelDraft, Subject
from kg.ingest.json_file import (
    read_json_object,
    read_json_object_or_none,
    read_text_file,
    regular_file_size,
)
from kg.ingest.libraries.dispatch import owns_config_json, read_library, record_library
from kg.ingest.libraries.gguf import gguf_digest
from kg.ingest.libraries.known import detect_library
from kg.ingest.lineage import record_lineage
from kg.ingest.model_card import read_model_card
from kg.ingest.sentence_transformers import offer_mapped, read_sentence_transformers
from kg.ingest.sources import ModelSource
from kg.ingest.tokenizer import read_tokenizer
from kg.ingest.weights import read_weights, safetensors_digest
from kg.iris import IriMinter
from kg.store.model_graph import ModelGraph
from ontology.namespaces import MKG, RDF, SCHEMA, XSD
from ontology.parameters import load_parameter_mapping

__all__ = [
    "INGEST_FORMAT",
    "SourcePlan",
    "plan_source",
    "read_source",
    "read_source_with_quads",
    "source_digest",
]

INGEST_FORMAT = "4"
"""Bump when the graph layout changes: every source then counts as changed on re-ingest."""


@dataclass(frozen=True)
class SourcePlan:
    """What a source will be called and whether it changed, known before any file is parsed."""

    model_iri: NamedNode
    model_key: str
    graph_iri: NamedNode
    digest: str
    file_digests: dict[str, str]


def _file_digest(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def source_digest(source: ModelSource) -> tuple[str, dict[str, str]]:
    """sha256 over every file read (name and bytes), the hub id, revision and ingest format.

    Equal digests mean the re-ingest would write the same graph, so it is skipped as unchanged.
    A missing file (broken symlink) is left for the reader to report with its path; a FIFO or
    device where a file should be is refused here, before anything would block reading it.
    """
    per_file: dict[str, str] = {}
    total = hashlib.sha256(f"{INGEST_FORMAT}\0{source.hub_id}\0{source.revision}\0".encode())
    for name in sorted(source.files):
        path = source.files[name]
        try:
            regular_file_size(path)
            if name.endswith(".safetensors"):
                per_file[name] = safetensors_digest(path)
            elif name.endswith(".gguf"):
                per_file[name] = gguf_digest(path)
            else:
                per_file[name] = _file_digest(path)
        except FileNotFoundError:
            per_file[name] = "missing"
        total.update(f"{name}\0{per_file[name]}\0".encode())
    return total.hexdigest(), per_file


def _identity_file(source: ModelSource) -> Path | None:
    for name in (
        "config.json",
        "adapter_config.json",
        "modules.json",
        "model_index.json",
        "meta.json",
        "inference.yml",
    ):
        if name in source.files:
            return source.files[name]
    return None


def plan_source(source: ModelSource, ids: IriMinter) -> SourcePlan:
    """Name the model and its graph, and digest its files, without parsing anything."""
    digest, file_digests = source_digest(source)
    if source.hub_id:
        model_iri = ids.model_iri(source.hub_id)
        local = ""
    else:
        identity = _identity_file(source)
        local = file_digests.get(identity.name, "") if identity else ""
        if not local or local == "missing":
            local = digest
        model_iri = ids.local_model_iri(local)
    model_key = ids.model_key(source.hub_id, local)
    return SourcePlan(model_iri, model_key, ids.graph_iri(model_key), digest, file_digests)


def read_source_with_quads(
    source: ModelSource,
    ids: IriMinter,
    *,
    plan: SourcePlan | None = None,
    now: datetime | None = None,
) -> tuple[ModelGraph, list[Quad]]:
    """`read_source`, also returning the quads as built (validation in the same process
    loads them into its scratch store without parsing the N-Quads back)."""
    mapping = load_parameter_mapping()
    plan = plan or plan_source(source, ids)
    model_iri, model_key, graph_iri = plan.model_iri, plan.model_key, plan.graph_iri
    digest, file_digests = plan.digest, plan.file_digests
    draft = ModelDraft(
        source=source,
        model=Subject(model_iri, (), None),
        model_key=model_key,
        graph=graph_iri,
        ids=ids,
        mapping=mapping,
    )
    files = source.files
    draft.add(model_iri, RDF.type, MKG.Model)
    name = source.hub_id or (
        source.location.stem if source.kind == "config-file" else source.location.name
    )
    draft.add_value(model_iri, SCHEMA.name, name)
    if source.hub_id:
        draft.add_value(model_iri, MKG.hubId, source.hub_id)
    if source.revision:
        draft.add_value(model_iri, MKG.revision, source.revision)
    config = read_json_object_or_none(files["config.json"]) if "config.json" in files else None
    # the markers' key check uses this parse (a name not in `files` is never looked up)
    library = detect_library(files, {"config.json": frozenset(config or ())})
    if "config.json" in files and not owns_config_json(library):
        if config is None:
            config = read_json_object(files["config.json"])  # its error, naming the file
        read_config(draft, config)
        # kept as written (canonical JSON), so sizes can be computed without the files
        canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        draft.add(graph_iri, MKG.configJSON, Literal(canonical, datatype=RDF.JSON))
    if "adapter_config.json" in files:
        read_adapter_config(draft, files["adapter_config.json"])
    if "quantize_config.json" in files:
        read_quantization(
            draft, read_json_object(files["quantize_config.json"]), "quantize_config.json", "bits"
        )
    if "README.md" in files:
        read_model_card(draft, read_text_file(files["README.md"]))
    if set(files) <= {"README.md"}:
        draft.warn(
            "only a model card: ingested from what the card says (library, task, tags, base "
            "model); no config to read"
        )
    read_library(draft, library, files)
    record_library(draft, library)
    read_sentence_transformers(draft, files)
    read_tokenizer(draft, files)
    read_weights(draft, files)
    if "preprocessor_config.json" in files:
        preprocessor = read_json_object(files["preprocessor_config.json"])
        for key in ("processor_class", "image_processor_type", "feature_extractor_type"):
            if isinstance(preprocessor.get(key), str):
                draft.add_value(model_iri, MKG.processorClass, preprocessor[key])
        offer_mapped(draft, "preprocessor_config.json", preprocessor)
    if "generation_config.json" in files:
        read_json_object(files["generation_config.json"])  # checked, recorded as read
    if "model.safetensors.index.json" in files:
        index = read_json_object(files["model.safetensors.index.json"])
        metadata = index.get("metadata")
        if isinstance(metadata, dict):
            offer_mapped(
                draft,
                "model.safetensors.index.json",
                {f"metadata.{k}": v for k, v in metadata.items()},
            )
    record_lineage(draft)
    draft.finish()
    _record_source(draft, graph_iri, digest, file_digests, now or datetime.now(UTC))
    graph = ModelGraph(
        source=source,
        model_iri=model_iri,
        graph_iri=graph_iri,
        digest=digest,
        nquads=serialize(draft.quads, format=RdfFormat.N_QUADS) or b"",
        count=len(draft.quads),
        warnings=tuple(draft.warnings),
    )
    return graph, draft.quads


def read_source(
    source: ModelSource,
    ids: IriMinter,
    *,
    plan: SourcePlan | None = None,
    now: datetime | None = None,
) -> ModelGraph:
    """Read every metadata file of `source` into one model graph.

    Raises an `InputError` (naming the file and field) on bad input.
    """
    return read_source_with_quads(source, ids, plan=plan, now=now)[0]


def _record_source(
    draft: ModelDraft, graph: NamedNode, digest: str, file_digests: dict[str, str], now: datetime
) -> None:
    source = draft.source
    draft.add(graph, RDF.type, MKG.SourceRecord)
    draft.add(graph, MKG.describes, draft.model.iri)
    draft.add_value(graph, MKG.sourceDigest, digest)
    draft.add_value(graph, MKG.sourceKind, source.kind)
    draft.add_value(graph, MKG.sourceLocation, str(source.location))
    draft.add_value(graph, MKG.ingestFormat, INGEST_FORMAT)
    draft.add(
        graph, MKG.ingestedAt, Literal(now.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)
    )
    if source.revision:
        draft.add_value(graph, MKG.revision, source.revision)
    for name, file_digest in sorted(file_digests.items()):
        node = NamedNode(f"{graph.value}/file/{name}")
        draft.add(graph, MKG.readFile, node)
        draft.add_value(node, MKG.fileName, name)
        draft.add_value(node, MKG.fileDigest, file_digest)
    for warning in draft.warnings:
        draft.add_value(graph, MKG.warning, warning)
