"""Where each thing the pages show lives in this app: the href of a model, run, experiment,
version, deployment, and of any lineage node by its IRI.

Every href is built from path segments percent-encoded here, so an id with `?`, `#`, `..` or
spaces stays one segment of one path; hub ids and target names keep their `/`, as the routes
take the rest of the path for them. Lifecycle IRIs are read back with the store's own minting
scheme (`kg.lifecycle.graph.LifecycleIds`); a version's IRI holds its registered model's opaque
key, not its name, so the caller passes the names it looked up.

>>> model_href("https://huggingface.co/openai-community/gpt2")
'/models/openai-community/gpt2'
>>> run_href("0123abc")
'/runs/0123abc'
>>> version_href("ami summarizer", "2")
'/registry/ami%20summarizer/versions/2'
>>> hub_page("https://huggingface.co/google/pegasus-x-base")
'https://huggingface.co/google/pegasus-x-base'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

from kg.iris import hub_id_of_iri
from kg.lifecycle.graph import LifecycleIds
from ontology.namespaces import HF_DATASETS

__all__ = [
    "deployment_href",
    "experiment_href",
    "hub_page",
    "model_href",
    "model_label",
    "node_href",
    "registered_model_href",
    "run_href",
    "target_href",
    "version_href",
]


def _segment(text: str, *, slashes: bool = False) -> str:
    return quote(text, safe="/" if slashes else "")


def model_href(iri: str) -> str:
    """The model's page: by hub id for hub models (readable), else by its whole IRI.

    >>> model_href("https://w3id.org/modelkg/id/model/local/x")
    '/models/https%3A%2F%2Fw3id.org%2Fmodelkg%2Fid%2Fmodel%2Flocal%2Fx'
    """
    hub_id = hub_id_of_iri(iri)
    if hub_id and ".." not in hub_id.split("/"):
        return "/models/" + _segment(hub_id, slashes=True)
    return "/models/" + _segment(iri)


def model_label(iri: str) -> str:
    """How a page names a model it knows only by IRI: its hub id when it has one.

    >>> model_label("https://huggingface.co/google/pegasus-x-base")
    'google/pegasus-x-base'
    """
    return hub_id_of_iri(iri) or iri


def hub_page(iri: str) -> str | None:
    """The Hugging Face page of a hub model or dataset, else None.

    >>> hub_page("https://w3id.org/modelkg/id/model/x") is None
    True
    """
    if hub_id_of_iri(iri) or iri.startswith(HF_DATASETS.iri("")):
        return iri
    return None


def run_href(run_id: str) -> str:
    return "/runs/" + _segment(run_id)


def experiment_href(experiment_id: str) -> str:
    return "/experiments/" + _segment(experiment_id)


def registered_model_href(name: str) -> str:
    return "/registry/" + _segment(name, slashes=True)


def version_href(name: str, version: str | int) -> str:
    return f"{registered_model_href(name)}/versions/{_segment(str(version))}"


def target_href(target: str) -> str:
    return "/deployments/" + _segment(target, slashes=True)


def deployment_href(target: str, number: int | str) -> str:
    """One deployment's page.

    >>> deployment_href("prod/eu", 3)
    '/deployments/prod/eu/3'
    """
    return f"{target_href(target)}/{_segment(str(number))}"


def _lifecycle_patterns(base: str) -> dict[str, re.Pattern[str]]:
    escaped = re.escape(base)
    return {
        "run": re.compile(rf"^{escaped}run/([^/]+)$"),
        "experiment": re.compile(rf"^{escaped}experiment/([^/]+)$"),
        "deployment": re.compile(rf"^{escaped}deployment-target/(.+)/deployment/(\d+)$"),
    }


def node_href(
    iri: str,
    kind: str,
    versions: Mapping[str, tuple[str, str]] | None = None,
    ids: LifecycleIds | None = None,
) -> str | None:
    """The page of a lineage node: a model, run, experiment, version (its (name, number) from
    `versions`), deployment, or a hub dataset's page on the Hub; None for anything else.

    >>> ids = LifecycleIds("https://w3id.org/modelkg/id/")
    >>> node_href("https://w3id.org/modelkg/id/run/ab12", "run", ids=ids)
    '/runs/ab12'
    >>> node_href("https://w3id.org/modelkg/id/deployment-target/prod/deployment/3",
    ...           "deployment", ids=ids)
    '/deployments/prod/3'
    >>> node_href("https://w3id.org/modelkg/id/registered-model/k/version/1", "version",
    ...           {"https://w3id.org/modelkg/id/registered-model/k/version/1": ("ami", "1")})
    '/registry/ami/versions/1'
    >>> node_href("https://huggingface.co/datasets/edinburghcstr/ami", "dataset")
    'https://huggingface.co/datasets/edinburghcstr/ami'
    """
    if kind == "model":
        return model_href(iri)
    if kind == "version":
        found = (versions or {}).get(iri)
        return version_href(*found) if found else None
    if kind == "dataset":
        return hub_page(iri)
    patterns = _lifecycle_patterns((ids or LifecycleIds.from_environment()).base)
    if kind in ("run", "experiment"):
        match = patterns[kind].match(iri)
        if match:
            key = unquote(match.group(1))
            return run_href(key) if kind == "run" else experiment_href(key)
    if kind == "deployment":
        match = patterns["deployment"].match(iri)
        if match:
            return deployment_href(unquote(match.group(1)), match.group(2))
    return None
