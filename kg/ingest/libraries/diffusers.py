"""Read a diffusers pipeline: `model_index.json` names the pipeline class and its components;
each component folder's config (`unet/config.json`, `scheduler/scheduler_config.json`, ...) is
read as a part of the one model. A component is never a model of its own.

diffusers' own loader (`ConfigMixin.load_config`) reads exactly these JSON files into a dict and
would add diffusers (and its torch stack) as a dependency to read them, so the documented JSON
is read here directly.
"""

from __future__ import annotations

from pathlib import Path

from kg.ingest.config_json import read_part_config
from kg.ingest.draft import ModelDraft, Subject
from kg.ingest.json_file import read_json_object
from kg.ingest.libraries.common import wrong_shape
from kg.ingest.limits import check_list_length
from ontology.namespaces import MKG, RDF

__all__ = ["read_diffusers"]

_COMPONENT_FILES = ("config.json", "scheduler_config.json", "preprocessor_config.json")


def read_diffusers(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add the pipeline, its class and its components (as `mkg:hasPart`) to `draft`."""
    index_file = "model_index.json"
    index = read_json_object(files[index_file])
    components = sum(1 for k, v in index.items() if not k.startswith("_") and isinstance(v, list))
    check_list_length("model_index.json", "components", components, path=str(files[index_file]))
    model = draft.model.iri
    pipeline_class = index.get("_class_name")
    if not isinstance(pipeline_class, str) or not pipeline_class:
        raise wrong_shape(
            draft,
            index_file,
            "_class_name",
            pipeline_class,
            'the pipeline class, e.g. "StableDiffusionPipeline"',
        )
    draft.add(model, RDF.type, MKG.DiffusionPipeline)
    draft.add_value(model, MKG.pipelineClass, pipeline_class)
    draft.add_value(model, MKG.architecture, pipeline_class)
    version = index.get("_diffusers_version")
    if isinstance(version, str):
        draft.add_value(model, MKG.libraryVersion, version)
    for name, value in sorted(index.items()):
        if name.startswith("_") or not isinstance(value, list):
            continue  # settings of the pipeline itself (`requires_safety_checker`, ...)
        if len(value) != 2 or not all(v is None or isinstance(v, str) for v in value):
            raise wrong_shape(
                draft,
                index_file,
                name,
                value,
                'a component as ["library", "ClassName"], e.g. ["diffusers", "UNet2DModel"]',
            )
        library, component_class = value
        if library is None or component_class is None:
            continue  # a component left out ([null, null]), e.g. no safety checker
        segments = ("part", name)
        part = Subject(draft.node(*segments), segments, None)
        draft.add(model, MKG.hasPart, part.iri)
        draft.add(part.iri, RDF.type, MKG.ModelComponent)
        draft.add_value(part.iri, MKG.configKey, name)
        draft.add_value(part.iri, MKG.componentLibrary, library)
        draft.add_value(part.iri, MKG.componentClass, component_class)
        for file in _COMPONENT_FILES:
            relative = f"{name}/{file}"
            if relative not in files:
                continue
            config = read_json_object(files[relative])
            if file == "config.json":
                read_part_config(draft, part, config, relative)
