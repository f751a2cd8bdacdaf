"""Read a spaCy pipeline: `meta.json` (language, versions, pipeline, labels) and `config.cfg`
(each component's factory), read with `confection`, the config system spaCy itself uses. Each
component is recorded in pipeline order; `ontology/libraries.ttl` turns components into tasks
(`ner` -> token-classification, `textcat` -> text-classification).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.errors import ConfigError
from kg.ingest.config_json import write_label_set
from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object, read_text_file
from kg.ingest.libraries.common import file_path, offer, wrong_shape
from kg.ingest.limits import check_list_length
from ontology.namespaces import MKG

__all__ = ["read_spacy"]


def read_spacy(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the pipeline's components, language and versions to `draft`."""
    model = draft.model.iri
    components: list[str] = []
    if "config.cfg" in files:
        components = _factories(draft, read_text_file(files["config.cfg"]))
    if "meta.json" in files:
        meta = read_json_object(files["meta.json"])
        pipeline = meta.get("pipeline", [])
        if not isinstance(pipeline, list) or not all(isinstance(p, str) for p in pipeline):
            raise wrong_shape(
                draft,
                "meta.json",
                "pipeline",
                pipeline,
                'a list of component names, e.g. ["tok2vec", "ner"]',
            )
        if not components:
            components = list(pipeline)
        _read_labels(draft, meta)
        for key, predicate in (("lang", MKG.language), ("spacy_version", MKG.libraryVersion)):
            if isinstance(meta.get(key), str) and meta[key]:
                draft.add_value(model, predicate, meta[key])
    source = "config.cfg" if "config.cfg" in files else "meta.json"
    check_list_length("spaCy pipeline", "pipeline", len(components), path=file_path(draft, source))
    for component in components:
        draft.add_value(model, MKG.pipelineComponent, component)


def _factories(draft: ModelDraft, text: str) -> list[str]:
    """The factory of each component in `[nlp] pipeline` order, from `config.cfg`."""
    from confection import Config

    try:
        config: dict[str, Any] = Config().from_str(text, interpolate=False)
    except Exception as exc:  # confection raises configparser's and its own errors
        raise ConfigError(
            f"unreadable config: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            path=file_path(draft, "config.cfg"),
            expected="a spaCy config (INI sections such as [nlp] and [components.ner])",
        ) from exc
    nlp = config.get("nlp", {})
    pipeline = nlp.get("pipeline", []) if isinstance(nlp, dict) else []
    if not isinstance(pipeline, list) or not all(isinstance(p, str) for p in pipeline):
        raise wrong_shape(
            draft,
            "config.cfg",
            "nlp.pipeline",
            pipeline,
            'a list of component names, e.g. ["tok2vec", "ner"]',
        )
    sections = config.get("components", {})
    factories = []
    for name in pipeline:
        section = sections.get(name) if isinstance(sections, dict) else None
        factory = section.get("factory") if isinstance(section, dict) else None
        factories.append(factory if isinstance(factory, str) else name)
    return factories


def _read_labels(draft: ModelDraft, meta: dict[str, Any]) -> None:
    """The label set of the pipeline's one labelling component (`labels` in meta.json: the
    entity types of `ner`, the categories of `textcat`); none when several components label."""
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        return
    labelled = {
        name: names
        for name, names in labels.items()
        if isinstance(names, list) and names and all(isinstance(n, str) for n in names)
    }
    if len(labelled) != 1:
        return
    [(component, names)] = labelled.items()
    write_label_set(draft, dict(enumerate(names)), "meta.json")
    offer(
        draft, draft.model, "num_labels", len(names),
        key=f"labels.{component}", file="meta.json", framework="spacy", priority=10,
    )  # fmt: skip
