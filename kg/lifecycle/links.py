"""Which runs touched a model, and which models a run touched: the joins GraphQL's `Model.runs`
and `Run.models` answer, one query for a whole batch of keys.

A run touched a model when it used it (`mkg:usedModel`: it started from it) or generated a
version registered from it or fine-tuned from it.

>>> from kg.store import EmbeddedStore
>>> from kg.lifecycle.tracking import Tracking
>>> store = EmbeddedStore.open(None)
>>> tracking = Tracking(store)
>>> run = tracking.create_run(tracking.create_experiment("e"))
>>> tracking.log_inputs(run.run_id, models=["openai-community/gpt2"])
>>> gpt2 = "https://huggingface.co/openai-community/gpt2"
>>> runs_of_models(store, [gpt2])[gpt2] == [run.run_id]
True
>>> models_of_runs(store, [run.iri])[run.iri]
['https://huggingface.co/openai-community/gpt2']
"""

from __future__ import annotations

from collections.abc import Sequence

from pyoxigraph import NamedNode

from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term

__all__ = ["models_of_runs", "runs_of_models"]

_TOUCHED = """
SELECT DISTINCT ?run ?id ?model WHERE {
  VALUES %s { %s }
  { ?run mkg:usedModel ?model }
  UNION { ?version prov:wasGeneratedBy ?run ; mkg:registeredFrom|mkg:fineTunedFrom ?model }
  ?run mkg:runId ?id .
}
"""


def _values(iris: Sequence[str]) -> str:
    return " ".join(sparql_term(NamedNode(iri)) for iri in iris)


def runs_of_models(store: ModelStore, models: Sequence[str]) -> dict[str, list[str]]:
    """model IRI -> the ids of the runs that used it or made a version of it."""
    found: dict[str, list[str]] = {model: [] for model in models}
    if models:
        for row in store.select(_TOUCHED % ("?model", _values(models))):
            found[row["model"].value].append(row["id"].value)
    return {model: sorted(set(ids)) for model, ids in found.items()}


def models_of_runs(store: ModelStore, runs: Sequence[str]) -> dict[str, list[str]]:
    """run IRI -> the IRIs of the models it used or made a version of."""
    found: dict[str, list[str]] = {run: [] for run in runs}
    if runs:
        for row in store.select(_TOUCHED % ("?run", _values(runs))):
            found[row["run"].value].append(row["model"].value)
    return {run: sorted(set(models)) for run, models in found.items()}
