"""How ModelKG names things: hub models by their hub address, everything it mints under a base.

A hub model is `https://huggingface.co/{org}/{name}` everywhere, so the graph joins with the rest
of the web; a local model with no hub id is `{base}model/{sha256 of its config}`. Nodes that
belong to one model (settings, parts, labels) are minted under `{base}` from the model's key, so
re-ingesting the same files mints the same IRIs.

>>> ids = IriMinter()
>>> ids.model_iri("openai-community/gpt2").value
'https://huggingface.co/openai-community/gpt2'
>>> ids.graph_iri("hf/openai-community/gpt2").value
'https://w3id.org/modelkg/id/graph/hf/openai-community/gpt2'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

from pyoxigraph import NamedNode

from kg.errors import UsageError
from ontology.namespaces import HF, HF_DATASETS

__all__ = ["DEFAULT_BASE_IRI", "IriMinter", "beside", "hub_id_of_iri", "node_prefix_of"]

DEFAULT_BASE_IRI = "https://w3id.org/modelkg/id/"


def beside(source_graph: NamedNode, kind: str) -> NamedNode:
    """A graph derived from a model's source graph (`inferred`, `size`), named beside it.

    >>> beside(NamedNode("https://w3id.org/modelkg/id/graph/hf/org/name"), "inferred").value
    'https://w3id.org/modelkg/id/graph/inferred/hf/org/name'
    """
    head, _, tail = source_graph.value.partition("/graph/")
    return NamedNode(f"{head}/graph/{kind}/{tail}")


def node_prefix_of(source_graph: NamedNode) -> str:
    """Where a model's own nodes are minted: `{base}{model key}/`.

    >>> node_prefix_of(NamedNode("https://w3id.org/modelkg/id/graph/hf/org/name"))
    'https://w3id.org/modelkg/id/hf/org/name/'
    """
    head, _, tail = source_graph.value.partition("/graph/")
    return f"{head}/{tail}/"


@lru_cache(maxsize=65536)
def _segment(text: str) -> str:
    return quote(text, safe="._-")


def hub_id_of_iri(iri: str) -> str | None:
    """The hub id of a hub model IRI, else None.

    >>> hub_id_of_iri("https://huggingface.co/openai-community/gpt2")
    'openai-community/gpt2'
    """
    prefix = str(HF)
    if iri.startswith(prefix) and not iri.startswith(str(HF_DATASETS)):
        return iri[len(prefix) :]
    return None


@dataclass(frozen=True)
class IriMinter:
    """Mints IRIs under one base (`MODELKG_BASE_IRI`, default `https://w3id.org/modelkg/id/`)."""

    base: str = DEFAULT_BASE_IRI

    @classmethod
    def from_environment(cls, base: str | None = None) -> IriMinter:
        """The minter for `base`, else `$MODELKG_BASE_IRI`, else the default."""
        chosen = base or os.environ.get("MODELKG_BASE_IRI") or DEFAULT_BASE_IRI
        chosen = chosen if chosen.endswith(("/", "#")) else chosen + "/"
        try:
            NamedNode(chosen + "x")
            absolute = urlsplit(chosen).scheme != ""
        except ValueError:
            absolute = False
        if not absolute:
            raise UsageError(
                f"`{chosen}` is not an absolute IRI",
                field="--base-iri",
                hint="give one like https://registry.example.org/id/ (no spaces)",
            )
        return cls(chosen)

    def model_iri(self, hub_id: str) -> NamedNode:
        """The IRI of a hub model: its address on the Hub."""
        return NamedNode(f"{HF}{quote(hub_id, safe='/._-')}")

    def local_model_iri(self, digest: str) -> NamedNode:
        """The IRI of a model with no hub id, from the sha256 of its config."""
        return NamedNode(f"{self.base}model/{digest}")

    def model_key(self, hub_id: str | None, digest: str) -> str:
        """The path segment that names a model under the base (`hf/org/name` or `model/sha`)."""
        return f"hf/{quote(hub_id, safe='/._-')}" if hub_id else f"model/{digest}"

    def node(self, model_key: str, *segments: str) -> str:
        """An IRI string for a node that belongs to one model."""
        tail = "/".join(map(_segment, segments))
        return f"{self.base}{model_key}/{tail}"

    def graph_iri(self, model_key: str) -> NamedNode:
        """The named graph that holds one model's source."""
        return NamedNode(f"{self.base}graph/{model_key}")

    def dataset_iri(self, dataset_id: str) -> NamedNode:
        """A hub dataset's address."""
        return NamedNode(f"{HF_DATASETS}{quote(dataset_id, safe='/._-')}")
