"""The ontology's own entailments, from an OWL RL engine (owlrl), not hand-written joins.

owlrl expands the TBox (core terms, parameter concepts, tasks); the schema triples it adds
(subclass and subproperty closure, equivalences, inverses, domains, ranges) join the ontology
that rules see, so a rule can ask `?p rdfs:subPropertyOf prov:wasDerivedFrom`.

The expansion takes ~1.5 s of CPU for ~230 triples, and every process that reasons paid it:
each ingest worker, the ingest command itself, the server. So the closure ships beside the
ontology as data (`ontology/tbox-closure.nt`), stamped with the digest of the files it was
computed from, and is read in milliseconds; a file whose stamp does not match the ontology
(it was edited and the closure not written again) is ignored and the closure computed, so the
answer is always the current ontology's. A test keeps the shipped file current.

    python -m kg.reason.tbox           # (re)write ontology/tbox-closure.nt
    python -m kg.reason.tbox --check   # exit 1 if it is stale

>>> from pyoxigraph import NamedNode
>>> closure = tbox_closure()
>>> any(q.subject == NamedNode("https://w3id.org/modelkg/ontology#fineTunedFrom")
...     and q.object == NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom") for q in closure)
True
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from functools import cache
from pathlib import Path

from pyoxigraph import Quad, RdfFormat, Triple, parse, serialize

from ontology.files import CORE_FILE, ONTOLOGY_DIR, ONTOLOGY_GRAPH, PARAMETERS_FILE, TASKS_FILE

__all__ = [
    "CLOSURE_FILE",
    "SCHEMA_PREDICATES",
    "compute_closure",
    "inputs_digest",
    "is_stale",
    "main",
    "tbox_closure",
    "write_closure",
]

CLOSURE_FILE = ONTOLOGY_DIR / "tbox-closure.nt"
TBOX_FILES: tuple[Path, ...] = (CORE_FILE, PARAMETERS_FILE, TASKS_FILE)
_STAMP = "# computed by owlrl from core.ttl, parameters.ttl and tasks.ttl, sha256 "
REGENERATE_COMMAND = "python -m kg.reason.tbox"

SCHEMA_PREDICATES = frozenset(
    {
        "http://www.w3.org/2000/01/rdf-schema#subClassOf",
        "http://www.w3.org/2000/01/rdf-schema#subPropertyOf",
        "http://www.w3.org/2000/01/rdf-schema#domain",
        "http://www.w3.org/2000/01/rdf-schema#range",
        "http://www.w3.org/2002/07/owl#equivalentClass",
        "http://www.w3.org/2002/07/owl#equivalentProperty",
        "http://www.w3.org/2002/07/owl#inverseOf",
    }
)
"""The schema triples of the closure that rules use; owlrl's other entailments are left out."""


def inputs_digest() -> str:
    """The sha256 of the TBox files, each named, in order: what a shipped closure is stamped
    with.

    >>> len(inputs_digest())
    64
    """
    digest = hashlib.sha256()
    for path in TBOX_FILES:
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


@cache
def tbox_closure() -> tuple[Quad, ...]:
    """Schema triples entailed by the TBox (OWL 2 RL), in the ontology graph: the shipped
    file when it was computed from these very files, else computed now."""
    triples = _shipped() or compute_closure()
    return tuple(Quad(t.subject, t.predicate, t.object, ONTOLOGY_GRAPH) for t in triples)


def _shipped() -> list[Triple] | None:
    """The closure in `CLOSURE_FILE`, if its stamp is the current files' digest."""
    try:
        payload = CLOSURE_FILE.read_bytes()
    except OSError:
        return None
    first = payload.split(b"\n", 1)[0].decode("utf-8", "replace")
    if first != _STAMP + inputs_digest():
        return None
    return [q.triple for q in parse(payload, format=RdfFormat.N_TRIPLES)]


def compute_closure() -> list[Triple]:
    """What owlrl entails from the TBox files, kept to `SCHEMA_PREDICATES` between IRIs, in
    a stable order (~1.5 s)."""
    import owlrl
    import rdflib

    graph = rdflib.Graph()
    for path in TBOX_FILES:
        if path.exists():
            graph.parse(path, format="turtle")
    asserted = set(graph)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(graph)
    entailed = rdflib.Graph()
    for triple in graph:
        subject, predicate, obj = triple
        if (
            triple not in asserted
            and str(predicate) in SCHEMA_PREDICATES
            and isinstance(subject, rdflib.URIRef)
            and isinstance(obj, rdflib.URIRef)
            and subject != obj
        ):
            entailed.add(triple)
    payload = entailed.serialize(format="nt")
    found = {q.triple for q in parse(payload.encode("utf-8"), format=RdfFormat.N_TRIPLES)}
    return sorted(found, key=str)


def _file_text(triples: list[Triple]) -> bytes:
    body = serialize(triples, format=RdfFormat.N_TRIPLES) or b""
    lines = sorted(line for line in body.decode("utf-8").splitlines() if line)
    return (_STAMP + inputs_digest() + "\n" + "\n".join(lines) + "\n").encode("utf-8")


def write_closure(path: Path | None = None) -> int:
    """Compute the closure and write it to `path` (`CLOSURE_FILE`), stamped, as sorted
    N-Triples; the triples written."""
    triples = compute_closure()
    (path or CLOSURE_FILE).write_bytes(_file_text(triples))
    return len(triples)


def is_stale(path: Path | None = None) -> bool:
    """Whether `path` (`CLOSURE_FILE`) is missing or differs from what `write_closure` would
    write."""
    try:
        return (path or CLOSURE_FILE).read_bytes() != _file_text(compute_closure())
    except OSError:
        return True


def main(argv: list[str] | None = None) -> int:
    """Write `ontology/tbox-closure.nt`, or with `--check` exit 1 when it is stale."""
    parser = argparse.ArgumentParser(
        prog=REGENERATE_COMMAND,
        description="Compute the TBox closure (owlrl) into ontology/tbox-closure.nt.",
    )
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        if is_stale():
            stale = f"{CLOSURE_FILE.name} is stale; regenerate with `{REGENERATE_COMMAND}`"
            print(stale, file=sys.stderr)
            return 1
        print(f"{CLOSURE_FILE.name} is up to date")
        return 0
    print(f"wrote {write_closure()} triples to {CLOSURE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
