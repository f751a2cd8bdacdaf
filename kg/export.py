"""Export the registry: N-Quads (every named graph), Turtle (the union of the model graphs) or
JSON-LD in schema.org / FAIR4ML terms, so other FAIR tools can read it.

N-Quads come out canonical: blank nodes labelled by RDF Dataset Canonicalization (RDFC-1.0,
pyoxigraph's implementation) and the lines sorted, so the same content gives the same bytes
whichever store (embedded or remote) it was read from. Without `timestamps`, the statements of
when something was ingested (every subproperty of `prov:generatedAtTime`, as the ontology
declares them) are left out: two dumps of the same models then compare equal.

Memory stays bounded whatever the store's size (`write_export` streams into a file): N-Quads
are sorted as an external merge sort (runs of `RUN_LINES` lines sorted in memory and spilled to
temporary files, then merged by `heapq.merge`), and Turtle is serialized as the store streams
it. Only the quads that hold a blank node are canonicalized in memory, together: RDFC-1.0's
labels depend on those quads alone, so they are the labels the whole dataset would get (the
ontology's few hundred). A 100,000-model store (18.5 M quads) took 24 GB when its export was
built in memory, and was killed.

>>> import tempfile
>>> from kg.store import open_store
>>> export(open_store(tempfile.mkdtemp() + "/kg"), "nquads")
b''
"""

from __future__ import annotations

import heapq
import io
import json
import tempfile
from collections.abc import Iterable
from contextlib import ExitStack
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Literal, get_args

from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    NamedNode,
    Quad,
    QueryTriples,
    RdfFormat,
    Triple,
    serialize,
)

from kg.errors import UsageError
from kg.store.base import ModelStore
from ontology.files import ONTOLOGY_DIR
from ontology.namespaces import FAIR4ML, MKG, PREFIXES, PROV, SCHEMA

__all__ = [
    "EXPORT_FORMATS",
    "ExportFormat",
    "canonical_nquads",
    "check_format",
    "export",
    "write_canonical_nquads",
    "write_export",
]

ExportFormat = Literal["turtle", "nquads", "jsonld"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)

MERGE_FAN_IN = 64
"""Runs merged at once (open files); more runs are merged in passes first."""

RUN_LINES = 250_000
"""N-Quads lines sorted in memory at a time (~60 MB of text with their quads): a larger
export is sorted in runs of this many, spilled to temporary files and merged."""

JSONLD_CONTEXT = {
    "schema": str(SCHEMA),
    "fair4ml": str(FAIR4ML),
    "prov": str(PROV),
    "mkg": str(MKG),
    "xsd": PREFIXES["xsd"],
}


def export(
    store: ModelStore, fmt: str, *, include_ontology: bool = False, timestamps: bool = True
) -> bytes:
    """The registry serialized as `fmt`, in memory (`write_export` streams it to a file)."""
    buffer = io.BytesIO()
    write_export(store, fmt, buffer, include_ontology=include_ontology, timestamps=timestamps)
    return buffer.getvalue()


def write_export(
    store: ModelStore,
    fmt: str,
    output: BinaryIO,
    *,
    include_ontology: bool = False,
    timestamps: bool = True,
) -> None:
    """Write the registry serialized as `fmt` to `output`, streamed (module docstring); the
    ontology graphs only when asked for; ingest timestamps unless `timestamps` is False.

    >>> import io, tempfile
    >>> from kg.store import open_store
    >>> written = io.BytesIO()
    >>> write_export(open_store(tempfile.mkdtemp() + "/kg"), "nquads", written,
    ...              include_ontology=True)
    >>> written.getvalue().count(b"\\n") > 1000
    True
    """
    check_format(fmt)
    if fmt == "jsonld":
        output.write(_jsonld(store))
        return
    quads: Iterable[Quad] = store.quads(vocabulary=include_ontology)
    if not timestamps:
        stamped = _timestamp_predicates(store)
        quads = (q for q in quads if q.predicate not in stamped)
    if fmt == "nquads":
        write_canonical_nquads(quads, output)
        return
    triples = (q.triple for q in quads)
    first = next(triples, None)
    if first is not None:
        # not for none: the serializer would write the prefixes of an empty document
        serialize(chain([first], triples), output, RdfFormat.TURTLE, prefixes=PREFIXES)


def check_format(fmt: str) -> None:
    """A `UsageError` naming the formats when `fmt` is not one of them."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format `{fmt}`", expected=", ".join(EXPORT_FORMATS))


def _timestamp_predicates(store: ModelStore) -> set[NamedNode]:
    """`prov:generatedAtTime` and every property the ontology declares beneath it."""
    found = {
        row["p"]
        for row in store.select(
            "SELECT DISTINCT ?p WHERE { ?p rdfs:subPropertyOf* prov:generatedAtTime }"
        )
    }
    return {p for p in found if isinstance(p, NamedNode)} | {PROV.generatedAtTime}


def canonical_nquads(quads: Iterable[Quad]) -> bytes:
    """N-Quads with canonical blank node labels (RDFC-1.0) and the lines sorted.

    >>> from pyoxigraph import BlankNode, Literal
    >>> a = Quad(BlankNode("x1"), NamedNode("urn:p"), Literal("1"), NamedNode("urn:g"))
    >>> b = Quad(BlankNode("y2"), NamedNode("urn:p"), Literal("1"), NamedNode("urn:g"))
    >>> canonical_nquads([a]) == canonical_nquads([b])
    True
    """
    buffer = io.BytesIO()
    write_canonical_nquads(quads, buffer)
    return buffer.getvalue()


def write_canonical_nquads(
    quads: Iterable[Quad], output: BinaryIO, *, run_lines: int = RUN_LINES
) -> None:
    """`canonical_nquads` written to `output`, holding at most `run_lines` lines (and the quads
    with blank nodes) in memory at once: the lines are sorted in runs spilled to temporary
    files, then merged.

    >>> from pyoxigraph import Literal
    >>> quads = [Quad(NamedNode(f"urn:s{i}"), NamedNode("urn:p"), Literal(i)) for i in (3, 1, 2)]
    >>> merged = io.BytesIO()
    >>> write_canonical_nquads(quads, merged, run_lines=2)
    >>> merged.getvalue() == canonical_nquads(quads)
    True
    """
    blank: list[Quad] = []
    batch: list[Quad] = []
    with tempfile.TemporaryDirectory(prefix="modelkg-export-") as folder:
        runs: list[Path] = []
        for quad in quads:
            if _holds_blank_node(quad):
                blank.append(quad)
                continue
            batch.append(quad)
            if len(batch) >= run_lines:
                runs.append(_spill(_sorted_lines(batch), Path(folder) / f"run{len(runs)}"))
                batch = []
        if blank:
            dataset = Dataset(blank)
            dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
            batch.extend(dataset)
        last = _sorted_lines(batch)
        while len(runs) > MERGE_FAN_IN:  # merged in passes: never more files open than this
            group, runs = runs[:MERGE_FAN_IN], runs[MERGE_FAN_IN:]
            with ExitStack() as opened:
                lines = heapq.merge(*(opened.enter_context(run.open("rb")) for run in group))
                runs.append(_spill(lines, Path(folder) / f"run{len(runs)}-{group[0].name}"))
            for run in group:
                run.unlink()
        with ExitStack() as opened:
            files = [opened.enter_context(run.open("rb")) for run in runs]
            output.writelines(heapq.merge(*files, last) if files else last)


def _holds_blank_node(quad: Quad | Triple) -> bool:
    """A blank node anywhere in the quad, inside its triple terms too."""
    parts = (quad.subject, quad.object, quad.graph_name if isinstance(quad, Quad) else None)
    return any(
        isinstance(term, BlankNode) or (isinstance(term, Triple) and _holds_blank_node(term))
        for term in parts
    )


def _sorted_lines(quads: list[Quad]) -> list[bytes]:
    text = (serialize(quads, format=RdfFormat.N_QUADS) or b"") if quads else b""
    return sorted(text.splitlines(keepends=True))


def _spill(lines: Iterable[bytes], path: Path) -> Path:
    """Sorted `lines` written to `path`: one run of the merge sort."""
    with path.open("wb") as run:
        run.writelines(lines)
    return path


def _jsonld(store: ModelStore) -> bytes:
    import rdflib

    sparql = (ONTOLOGY_DIR / "export" / "schema_org.rq").read_text(encoding="utf-8")
    result = store.query(sparql)
    assert isinstance(result, QueryTriples)
    payload = result.serialize(format=RdfFormat.N_TRIPLES) or b""
    graph = rdflib.Graph()
    graph.parse(data=payload.decode("utf-8"), format="nt")
    text = graph.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True)
    document = json.loads(text)
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
