"""`modelkg query` and `modelkg export`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pyoxigraph import (
    Literal,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
)
from rich.markup import escape
from rich.table import Table

from kg.atomic import replacing
from kg.cli.common import StoreOption, console
from kg.errors import InputError, ModelKGError, OutputError, UsageError
from kg.export import EXPORT_FORMATS, check_format, write_export
from kg.ingest.json_file import read_text_file
from kg.sparql.guard import check_query
from kg.sparql.parse import parse_query
from kg.store import open_store, store_location
from ontology.namespaces import HF, PREFIXES

if TYPE_CHECKING:
    from kg.store.base import ModelStore

__all__ = ["compact", "export_command", "model_names", "query_command"]

RESULT_FORMATS = {
    "json": QueryResultsFormat.JSON,
    "xml": QueryResultsFormat.XML,
    "csv": QueryResultsFormat.CSV,
    "tsv": QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "turtle": RdfFormat.TURTLE,
    "ntriples": RdfFormat.N_TRIPLES,
    "nquads": RdfFormat.N_QUADS,
}


def query_command(
    sparql: Annotated[
        str, typer.Argument(help="The SPARQL query, or @FILE to read it from a file.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table, json, csv, tsv or xml for SELECT/ASK; turtle or ntriples for "
            "CONSTRUCT/DESCRIBE.",
        ),
    ] = "table",
    store: StoreOption = None,
) -> None:
    """Run a SPARQL 1.1 query over the store (the default graph is the union of all graphs).

    The prefixes ModelKG writes (mkg:, mkga:, mkgm:, mkgt:, hf:, schema:, fair4ml:, prov:,
    rdf:, rdfs:, xsd:, owl:, sh:) are predeclared. In the table, a model without a hub id is
    shown by its name rather than its IRI. SERVICE is refused (ModelKG never fetches a URL a
    query names), and a query larger than 1 MiB or nested deeper than 64 groups is refused
    before it is parsed.

    Example:

    \b
        modelkg query 'SELECT ?m ?h WHERE { ?m mkg:hiddenSize ?h } ORDER BY ?m' --format csv
    """
    if sparql.startswith("@"):
        sparql = read_text_file(Path(sparql[1:]))
    check_query(parse_query(sparql))  # bounded, parsed and guarded before the engine sees it
    kg_store = open_store(store_location(store), read_only=True)
    result = kg_store.query(sparql)
    if isinstance(result, QueryTriples):
        if fmt not in GRAPH_FORMATS:
            raise UsageError(
                f"a CONSTRUCT/DESCRIBE result cannot be written as `{fmt}`",
                expected=" or ".join(GRAPH_FORMATS),
            )
        sys.stdout.buffer.write(result.serialize(format=GRAPH_FORMATS[fmt]) or b"")
        return
    if fmt == "table":
        _print_table(result, kg_store)
        return
    if fmt not in RESULT_FORMATS:
        raise UsageError(
            f"SELECT/ASK results cannot be written as `{fmt}`",
            expected="table, " + ", ".join(RESULT_FORMATS),
        )
    sys.stdout.buffer.write(result.serialize(format=RESULT_FORMATS[fmt]) or b"")
    sys.stdout.buffer.write(b"\n")


def _print_table(result: QuerySolutions | QueryBoolean, store: ModelStore) -> None:
    if isinstance(result, QueryBoolean):
        console.print("true" if result else "false")
        return
    names = [v.value for v in result.variables]
    rows = [[row[name] for name in names] for row in result]
    known = model_names(store, {t.value for r in rows for t in r if isinstance(t, NamedNode)})
    table = Table()
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(escape(known.get(_iri(term)) or _show(term)) for term in row))
    console.print(table)
    console.print(f"{table.row_count} row(s)")


def _iri(term: object) -> str:
    return term.value if isinstance(term, NamedNode) else ""


def model_names(store: ModelStore, iris: set[str]) -> dict[str, str]:
    """The name of each model among `iris` that has no hub id: a person reads
    `gpt2-style-lm`, not `https://w3id.org/modelkg/id/model/3cc6...` (hub models already read
    as `hf:org/name`)."""
    local = sorted(iri for iri in iris if not iri.startswith(str(HF)))
    found: dict[str, str] = {}
    for start in range(0, len(local), 500):
        values = " ".join(f"<{iri}>" for iri in local[start : start + 500])
        for row in store.select(
            f"SELECT ?m ?name WHERE {{ VALUES ?m {{ {values} }} "
            "?m a mkg:Model ; schema:name ?name }"
        ):
            model, name = row["m"], row["name"]
            if isinstance(model, NamedNode) and isinstance(name, Literal):
                found.setdefault(model.value, name.value)
    return found


_SHORT = {iri: prefix for prefix, iri in PREFIXES.items()}


def compact(term: object) -> str:
    """A term for people: prefixed IRIs, plain literal values."""
    return _show(term)


def _show(term: object) -> str:
    """A term as a person reads it: prefixed names for IRIs in known namespaces."""
    if term is None:
        return ""
    if isinstance(term, NamedNode):
        for namespace, prefix in _SHORT.items():
            if term.value.startswith(namespace):
                return f"{prefix}:{term.value[len(namespace) :]}"
        return term.value
    value = getattr(term, "value", None)
    return str(value) if value is not None else str(term)


@contextmanager
def _written(where: str, hint: str) -> Iterator[None]:
    """A failure to write the export (a full disk) as one error naming `where`, not a
    traceback; ModelKG's own errors (the store's) and a closed pipe pass as they are."""
    try:
        yield
    except (BrokenPipeError, ModelKGError):
        raise
    except OSError as exc:
        raise OutputError(
            f"cannot write the export: {exc.strerror or exc}", path=where, hint=hint
        ) from exc


def export_command(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"One of {', '.join(EXPORT_FORMATS)}.")
    ] = "turtle",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    include_ontology: Annotated[
        bool, typer.Option("--include-ontology", help="Also export the ontology and shapes graphs.")
    ] = False,
    timestamps: Annotated[
        bool,
        typer.Option(
            "--timestamps/--no-timestamps",
            help="Keep when each model was ingested; without, two dumps of the same content "
            "compare equal.",
        ),
    ] = True,
    store: StoreOption = None,
) -> None:
    """Export the registry: Turtle, N-Quads (every named graph, canonical: blank nodes labelled
    by RDFC-1.0, lines sorted) or JSON-LD (schema.org/FAIR4ML).

    Example:

    \b
        modelkg export --format jsonld -o registry.jsonld
        modelkg export --format nquads --include-ontology --no-timestamps -o all.nq
    """
    options = {"include_ontology": include_ontology, "timestamps": timestamps}
    check_format(fmt)  # before a file is made
    if output is not None and not output.parent.is_dir():
        raise InputError(
            "the folder to write into does not exist",
            path=str(output.parent),
            hint="create it first, or pick another --output",
        )
    kg_store = open_store(store_location(store), read_only=True)
    if output is None:
        with _written("standard output", "free space, or write to a file with --output"):
            write_export(kg_store, fmt, sys.stdout.buffer, **options)
        return
    hint = f"{output} is as it was; free space (the sort spills to TMPDIR too) or pick another"
    # streamed (a store of any size in bounded memory), replacing the file only once whole
    with _written(str(output), hint), replacing(output) as temporary, temporary.open("wb") as out:
        write_export(kg_store, fmt, out, **options)
    console.print(f"wrote {output.stat().st_size:,} bytes to {output}")
