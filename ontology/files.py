"""Where the ontology's Turtle files are, and the named graph they are loaded into.

The ontology is data: every file here is read at run time, never restated in Python.

>>> sorted(path.name for path in ONTOLOGY_FILES)
['background_tasks.ttl', 'catalog.ttl', 'codegen.ttl', 'core.ttl', 'libraries.ttl',
 'lifecycle.ttl', 'parameters.ttl', 'tasks.ttl']
>>> len(ontology_quads()) > 1000
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, QuerySolutions, RdfFormat, Store, parse

from ontology.catalog_version import warn_if_stale

__all__ = [
    "BACKGROUND_TASKS_FILE",
    "CATALOG_FILE",
    "CODEGEN_FILE",
    "CORE_FILE",
    "LIBRARIES_FILE",
    "LIFECYCLE_FILE",
    "ONTOLOGY_DIR",
    "ONTOLOGY_FILES",
    "ONTOLOGY_GRAPH",
    "PARAMETERS_FILE",
    "SHAPES_FILE",
    "SHAPES_GRAPH",
    "TASKS_FILE",
    "catalog_quads",
    "ontology_quads",
    "read_turtle",
    "select",
    "shapes_quads",
    "text_of",
    "validation_context_quads",
]

ONTOLOGY_DIR = Path(__file__).resolve().parent
CORE_FILE = ONTOLOGY_DIR / "core.ttl"
PARAMETERS_FILE = ONTOLOGY_DIR / "parameters.ttl"
CATALOG_FILE = ONTOLOGY_DIR / "catalog.ttl"
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
TASKS_FILE = ONTOLOGY_DIR / "tasks.ttl"
LIBRARIES_FILE = ONTOLOGY_DIR / "libraries.ttl"
CODEGEN_FILE = ONTOLOGY_DIR / "codegen.ttl"
LIFECYCLE_FILE = ONTOLOGY_DIR / "lifecycle.ttl"
BACKGROUND_TASKS_FILE = ONTOLOGY_DIR / "background_tasks.ttl"
ONTOLOGY_FILES: tuple[Path, ...] = (
    CORE_FILE,
    PARAMETERS_FILE,
    TASKS_FILE,
    LIBRARIES_FILE,
    CODEGEN_FILE,
    LIFECYCLE_FILE,
    BACKGROUND_TASKS_FILE,
    CATALOG_FILE,
)
"""The files that make up the ontology graph (TBox, parameter mappings, tasks, libraries,
codegen bindings, the lifecycle vocabulary, background tasks, catalog)."""

ONTOLOGY_GRAPH = NamedNode("https://w3id.org/modelkg/graph/ontology")
"""The named graph that holds the ontology in a store; never written by ingest."""
SHAPES_GRAPH = NamedNode("https://w3id.org/modelkg/graph/shapes")
"""The named graph that holds the SHACL shapes in a store."""


def read_turtle(path: Path, graph: NamedNode) -> list[Quad]:
    """Parse one Turtle file into quads of `graph`."""
    return [
        Quad(t.subject, t.predicate, t.object, graph)
        for t in parse(path=str(path), format=RdfFormat.TURTLE)
    ]


def text_of(term: object) -> str:
    """The lexical value of a literal or IRI from a query row (bindings the query guarantees)."""
    if not isinstance(term, Literal | NamedNode):
        raise TypeError(f"expected an IRI or a literal, got {term!r}")
    return term.value


def select(store: Store, sparql: str) -> QuerySolutions:
    """Run a SELECT over `store` (named graphs queried with GRAPH) and return its solutions."""
    result = store.query(sparql)
    if not isinstance(result, QuerySolutions):
        raise TypeError(f"expected a SELECT query, got {type(result).__name__}")
    return result


@cache
def catalog_quads() -> tuple[Quad, ...]:
    """The catalog's quads, parsed once per process; every reader of the catalog goes through
    here, so a catalog generated from another transformers than the installed one is reported
    once (a warning naming `modelkg catalog --write`, see `ontology.catalog_version`)."""
    quads = tuple(read_turtle(CATALOG_FILE, ONTOLOGY_GRAPH))
    warn_if_stale(CATALOG_FILE, quads)
    return quads


@cache
def ontology_quads() -> tuple[Quad, ...]:
    """Every quad of the ontology graph (core, parameters, catalog), parsed once per process."""
    quads: list[Quad] = []
    for path in ONTOLOGY_FILES:
        quads.extend(catalog_quads() if path == CATALOG_FILE else read_turtle(path, ONTOLOGY_GRAPH))
    return tuple(quads)


@cache
def validation_context_quads() -> tuple[Quad, ...]:
    """The part of the ontology the SHACL shapes look at: the TBox, the parameter concepts and
    the names of the known model types. Both validation engines see exactly this beside the
    model's own graph, so their verdicts can be compared one to one.
    """
    names = {"https://w3id.org/modelkg/ontology#modelTypeName"}
    catalog = catalog_quads()
    return (
        *read_turtle(CORE_FILE, ONTOLOGY_GRAPH),
        *read_turtle(PARAMETERS_FILE, ONTOLOGY_GRAPH),
        *(q for q in catalog if q.predicate.value in names),
    )


@cache
def shapes_quads() -> tuple[Quad, ...]:
    """Every quad of the shapes graph, parsed once per process."""
    return tuple(read_turtle(SHAPES_FILE, SHAPES_GRAPH))
