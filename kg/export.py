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
built in memory, and was killed. JSON-LD's triples go through the same sort (which puts each
subject's together) and are compacted a thousand subjects at a time.

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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar, get_args

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

Statement = TypeVar("Statement", Quad, Triple)

JSONLD_NODES = 1_000
"""Subjects compacted into JSON-LD at a time (rdflib holds their graph and its JSON)."""

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
        _write_jsonld(store, output)
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

    def without_blank_nodes() -> Iterator[Quad]:
        for quad in quads:
            if _holds_blank_node(quad):
                blank.append(quad)
            else:
                yield quad

    with tempfile.TemporaryDirectory(prefix="modelkg-export-") as folder:
        runs, rest = _spill_runs(without_blank_nodes(), Path(folder), run_lines)
        if blank:
            dataset = Dataset(blank)
            dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
            rest.extend(dataset)
        output.writelines(_merge_runs(runs, _sorted_lines(rest), Path(folder)))


def _spill_runs(
    statements: Iterable[Statement], folder: Path, run_lines: int
) -> tuple[list[Path], list[Statement]]:
    """The runs of an external sort: `statements` serialized and sorted `run_lines` at a time,
    each run spilled to a file in `folder`; the last (shorter) batch is given back unsorted."""
    runs: list[Path] = []
    batch: list[Statement] = []
    for statement in statements:
        batch.append(statement)
        if len(batch) >= run_lines:
            runs.append(_spill(_sorted_lines(batch), folder / f"run{len(runs)}"))
            batch = []
    return runs, batch


def _merge_runs(runs: list[Path], last: list[bytes], folder: Path) -> Iterator[bytes]:
    """The lines of every run and of `last`, merged in order; with more than `MERGE_FAN_IN`
    runs they are first merged in passes, so no more files than that are ever open."""
    while len(runs) > MERGE_FAN_IN:
        group, runs = runs[:MERGE_FAN_IN], runs[MERGE_FAN_IN:]
        with ExitStack() as opened:
            lines = heapq.merge(*(opened.enter_context(run.open("rb")) for run in group))
            runs.append(_spill(lines, folder / f"run{len(runs)}-{group[0].name}"))
        for run in group:
            run.unlink()
    with ExitStack() as opened:
        files = [opened.enter_context(run.open("rb")) for run in runs]
        yield from heapq.merge(*files, last) if files else last


def _holds_blank_node(quad: Quad | Triple) -> bool:
    """A blank node anywhere in the quad, inside its triple terms too."""
    parts = (quad.subject, quad.object, quad.graph_name if isinstance(quad, Quad) else None)
    return any(
        isinstance(term, BlankNode) or (isinstance(term, Triple) and _holds_blank_node(term))
        for term in parts
    )


def _sorted_lines(statements: Sequence[Quad] | Sequence[Triple]) -> list[bytes]:
    """Quads as N-Quads lines, triples as N-Triples lines, sorted."""
    if not statements:
        return []
    fmt = RdfFormat.N_QUADS if isinstance(statements[0], Quad) else RdfFormat.N_TRIPLES
    return sorted((serialize(statements, format=fmt) or b"").splitlines(keepends=True))


def _spill(lines: Iterable[bytes], path: Path) -> Path:
    """Sorted `lines` written to `path`: one run of the merge sort."""
    with path.open("wb") as run:
        run.writelines(lines)
    return path


def _write_jsonld(store: ModelStore, output: BinaryIO, *, nodes: int = JSONLD_NODES) -> None:
    """The schema.org / FAIR4ML view (`ontology/export/schema_org.rq`) as one JSON-LD document,
    compacted with `JSONLD_CONTEXT`, each node once, ordered by subject (blank nodes last).

    Streamed in bounded memory: the CONSTRUCT's triples (asked for `nodes` models at a time)
    are sorted as N-Triples lines (the external sort N-Quads use), which puts each subject's
    triples together and drops the repeats (a dataset many models name), then compacted by
    rdflib `nodes` subjects at a time (blank nodes keep their labels from one batch to the
    next) and written out as `@graph`'s members.
    """
    import rdflib

    blank_nodes: dict[str, rdflib.BNode] = {}

    def compacted(lines: list[bytes]) -> list[dict[str, object]]:
        graph = rdflib.Graph()
        graph.parse(data=b"".join(lines).decode("utf-8"), format="nt", bnode_context=blank_nodes)
        text = graph.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True)
        document = json.loads(text)
        found = document.get("@graph", [{k: v for k, v in document.items() if k != "@context"}])
        # a blank node whose own triples are in another batch comes out as a bare {"@id": ...}
        kept = [node for node in found if set(node) != {"@id"}]
        return sorted(kept, key=lambda node: (node["@id"].startswith("_:"), node["@id"]))

    output.write(b'{\n  "@context": ' + _json(JSONLD_CONTEXT, 1) + b',\n  "@graph": [')
    separator = b"\n    "
    with tempfile.TemporaryDirectory(prefix="modelkg-export-") as folder:
        runs, rest = _spill_runs(_schema_org_view(store, nodes), Path(folder), RUN_LINES)
        lines = _merge_runs(runs, _sorted_lines(rest), Path(folder))
        for batch in _subject_batches(lines, nodes):
            for node in compacted(batch):
                output.write(separator + _json(node, 2))
                separator = b",\n    "
    output.write(b"\n  ]\n}\n" if separator != b"\n    " else b"]\n}\n")


def _schema_org_view(store: ModelStore, models: int) -> Iterator[Triple]:
    """The triples of `ontology/export/schema_org.rq`, its CONSTRUCT run for `models` models
    at a time (their IRIs bound by VALUES): run over the whole store at once, oxigraph's
    joins held ~700 MB at 100,000 models, growing with the store."""
    sparql = (ONTOLOGY_DIR / "export" / "schema_org.rq").read_text(encoding="utf-8")
    head, where, body = sparql.partition("\nWHERE {")
    assert where, "schema_org.rq has no `WHERE {` line"
    found = (row["model"] for row in store.select("SELECT ?model WHERE { ?model a mkg:Model }"))
    blank = False  # a model without an IRI (a SPARQL update can make one): VALUES cannot name it
    while page := list(islice(found, models)):
        named = [str(m) for m in page if isinstance(m, NamedNode)]
        blank = blank or len(named) < len(page)
        if named:
            yield from _triples(
                store.query(f"{head}{where} VALUES ?model {{ {' '.join(named)} }}{body}")
            )
    if blank:
        yield from _triples(store.query(f"{head}{where} FILTER(isBlank(?model)){body}"))


def _triples(result: object) -> QueryTriples:
    assert isinstance(result, QueryTriples)
    return result


def _subject_batches(lines: Iterable[bytes], subjects: int) -> Iterator[list[bytes]]:
    """Sorted N-Triples `lines`, repeats dropped, in batches of about `subjects` subjects
    (a subject's lines are never split between two batches)."""
    batch: list[bytes] = []
    count = 0
    last_line = last_subject = b""
    for line in lines:
        if line == last_line:
            continue
        last_line = line
        subject = line.split(b" ", 1)[0]
        if subject != last_subject:
            last_subject = subject
            if count == subjects:
                yield batch
                batch, count = [], 0
            count += 1
        batch.append(line)
    if batch:
        yield batch


def _json(value: object, level: int) -> bytes:
    """`value` as indented JSON, nested `level` levels deep (two spaces a level)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + "  " * level).encode("utf-8")
