"""Run the reader of a model's library, and record which library made it.

The library comes from the folder's marker files (`kg.ingest.libraries.known`); a folder with
only a model card takes it from the card's `library_name`. A model whose library ModelKG does
not know is ingested with what could be read, and a warning on its source record says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyoxigraph import Literal, NamedNode

from kg.ingest.draft import ModelDraft
from kg.ingest.libraries.cross_encoder import read_cross_encoder
from kg.ingest.libraries.diffusers import read_diffusers
from kg.ingest.libraries.gguf import read_gguf
from kg.ingest.libraries.known import Library, library_by_id
from kg.ingest.libraries.open_clip import read_open_clip
from kg.ingest.libraries.others import read_paddleocr, read_speechbrain
from kg.ingest.libraries.setfit import read_setfit
from kg.ingest.libraries.smp import read_smp
from kg.ingest.libraries.spacy import read_spacy
from kg.ingest.libraries.timm import read_timm
from ontology.namespaces import MKG

__all__ = ["READERS", "owns_config_json", "read_library", "record_library"]

Reader = Callable[[ModelDraft, dict[str, Path]], None]

READERS: dict[str, Reader] = {
    "diffusers": read_diffusers,
    "gguf": read_gguf,
    "open-clip": read_open_clip,
    "paddleocr": read_paddleocr,
    "segmentation-models-pytorch": read_smp,
    "sentence-transformers": read_cross_encoder,
    "setfit": read_setfit,
    "spacy": read_spacy,
    "speechbrain": read_speechbrain,
    "timm": read_timm,
}
"""Each library's reader, by the library's short name (its IRI `mkg:library-NAME`)."""

_OWN_CONFIG_JSON = frozenset({"timm", "segmentation-models-pytorch", "speechbrain", "paddleocr"})


def owns_config_json(library: Library | None) -> bool:
    """Whether the library's `config.json` is its own format, not a transformers config."""
    return library is not None and library.name in _OWN_CONFIG_JSON


def read_library(draft: ModelDraft, library: Library | None, files: dict[str, Path]) -> None:
    """Run `library`'s reader, if it has one."""
    if library is not None and library.name in READERS:
        READERS[library.name](draft, files)


def record_library(draft: ModelDraft, library: Library | None) -> None:
    """`mkg:library` from the files, else from the card; a warning when neither names a
    library ModelKG knows."""
    card_name = draft.facts.get("library_name")
    if library is None and card_name is None:
        library = _library_from_tags(draft)
    if library is None and isinstance(card_name, str):
        library = library_by_id(card_name)
        if library is None:
            draft.warn(
                f"README.md: library `{card_name}` is not one ModelKG knows "
                "(ontology/libraries.ttl); ingested with what the card says"
            )
    elif library is None:
        draft.warn(
            "no library: no file any known library saves a model with, and the card names none"
        )
    if library is not None:
        draft.add(draft.model.iri, MKG.library, NamedNode(library.iri))


def _library_from_tags(draft: ModelDraft) -> Library | None:
    """The library a card with no `library_name` names among its tags (`flair`, `asteroid`,
    `stable-baselines3`), as the Hub reads such cards."""
    model = draft.model.iri
    for quad in draft.quads:
        if quad.subject == model and quad.predicate == MKG.tag and isinstance(quad.object, Literal):
            library = library_by_id(quad.object.value)
            if library is not None:
                draft.warn(f"README.md: no `library_name`; library `{library.label}` from the tags")
                return library
    return None
