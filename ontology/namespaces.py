"""The namespaces ModelKG speaks, as pyoxigraph terms.

One place names every IRI prefix, so a typo in a namespace is a single bug, not many.

>>> MKG.hiddenSize.value
'https://w3id.org/modelkg/ontology#hiddenSize'
>>> str(SCHEMA.name)
'<https://schema.org/name>'
"""

from __future__ import annotations

from functools import cache

from pyoxigraph import NamedNode

__all__ = [
    "FAIR4ML",
    "FORMATS",
    "HF",
    "HF_DATASETS",
    "HF_TASKS",
    "MKG",
    "MKGA",
    "MKGM",
    "MKGP",
    "MKGSH",
    "MKGT",
    "MLS",
    "OWL",
    "PREFIXES",
    "PROV",
    "RDF",
    "RDFS",
    "SCHEMA",
    "SD",
    "SH",
    "XSD",
    "Namespace",
    "sparql_prologue",
]


class Namespace(str):
    """An IRI prefix; attribute or item access mints a `NamedNode` in it.

    >>> Namespace("http://example.org/")["model-type"].value
    'http://example.org/model-type'
    """

    def __getattr__(self, name: str) -> NamedNode:
        if name.startswith("__"):
            raise AttributeError(name)
        term = _term(str(self), name)
        object.__setattr__(self, name, term)  # later look-ups are plain attribute reads
        return term

    def __getitem__(self, name: str) -> NamedNode:  # type: ignore[override]
        return _term(str(self), name)

    def iri(self, local: str) -> str:
        """The full IRI string of `local` in this namespace."""
        return f"{self}{local}"


@cache
def _term(prefix: str, local: str) -> NamedNode:
    return NamedNode(prefix + local)


MKG = Namespace("https://w3id.org/modelkg/ontology#")
MKGSH = Namespace("https://w3id.org/modelkg/shapes#")
MKGP = Namespace("https://w3id.org/modelkg/ontology/mapping/")
MKGT = Namespace("https://w3id.org/modelkg/catalog/model-type/")
MKGA = Namespace("https://w3id.org/modelkg/catalog/architecture/")
MKGM = Namespace("https://w3id.org/modelkg/catalog/auto-mapping/")
FAIR4ML = Namespace("https://w3id.org/fair4ml/")
SCHEMA = Namespace("https://schema.org/")
MLS = Namespace("http://www.w3.org/ns/mls#")
PROV = Namespace("http://www.w3.org/ns/prov#")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
SH = Namespace("http://www.w3.org/ns/shacl#")
HF = Namespace("https://huggingface.co/")
HF_DATASETS = Namespace("https://huggingface.co/datasets/")
HF_TASKS = Namespace("https://huggingface.co/tasks/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")

PREFIXES: dict[str, str] = {
    "mkg": str(MKG),
    "mkgsh": str(MKGSH),
    "mkgt": str(MKGT),
    "mkga": str(MKGA),
    "mkgm": str(MKGM),
    "fair4ml": str(FAIR4ML),
    "schema": str(SCHEMA),
    "mls": str(MLS),
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "owl": str(OWL),
    "sh": str(SH),
    "hf": str(HF),
}
"""Prefixes for serializers and for the SPARQL prologue ModelKG adds to queries: every prefix
ModelKG's output uses (`hf:` for hub models, `mkga:`/`mkgm:` for the catalog) is one a query can
write back.

>>> [p for p in ("hf", "mkga", "mkgm") if p in PREFIXES]
['hf', 'mkga', 'mkgm']
"""


def sparql_prologue() -> str:
    """PREFIX lines for every namespace ModelKG uses, so queries can write `mkg:hiddenSize`.

    >>> sparql_prologue().splitlines()[0]
    'PREFIX mkg: <https://w3id.org/modelkg/ontology#>'
    """
    return "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())
