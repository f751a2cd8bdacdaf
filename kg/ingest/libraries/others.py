"""Libraries whose model folders ModelKG recognizes but whose own metadata it reads only as far
as it names the model: SpeechBrain (`hyperparams.yaml` is HyperPyYAML, whose custom tags build
torch objects, so only the plain `config.json` interface is read) and PaddleOCR
(`inference.yml`, `Global.model_name`). The card tells the rest.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from kg.errors import ConfigError
from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object, read_text_file
from kg.ingest.libraries.common import file_path
from ontology.namespaces import MKG

__all__ = ["read_paddleocr", "read_speechbrain"]


def read_speechbrain(draft: ModelDraft, files: dict[str, Path]) -> None:
    """The SpeechBrain interface class a `config.json` names, if any."""
    if "config.json" not in files:
        draft.warn(
            "hyperparams.yaml: SpeechBrain's HyperPyYAML builds torch objects to be read, so it "
            "is not; ingested from the card"
        )
    else:
        interface = read_json_object(files["config.json"]).get("speechbrain_interface")
        if isinstance(interface, str) and interface:
            draft.add_value(draft.model.iri, MKG.architecture, interface)


def read_paddleocr(draft: ModelDraft, files: dict[str, Path]) -> None:
    """The model name `inference.yml` gives (`Global.model_name`)."""
    text = read_text_file(files["inference.yml"])
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"broken YAML{where}",
            path=file_path(draft, "inference.yml"),
            expected="PaddleOCR's inference.yml",
        ) from exc
    glob = loaded.get("Global") if isinstance(loaded, dict) else None
    name = glob.get("model_name") if isinstance(glob, dict) else None
    if isinstance(name, str) and name:
        draft.add_value(draft.model.iri, MKG.architecture, name)
        draft.add_value(draft.model.iri, MKG.libraryModelName, name)
