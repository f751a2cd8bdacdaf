"""Read `tokenizer_config.json` and `special_tokens_map.json`, and hash the vocabulary files.

Two models share a tokenizer when the class, the special tokens and, where present, the
vocabulary files agree; the digest makes that last check one comparison.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from kg.ingest.draft import ModelDraft
from kg.ingest.json_file import read_json_object
from kg.ingest.sources import TOKENIZER_FILES
from ontology.namespaces import MKG, RDF

__all__ = ["read_tokenizer"]

_SPECIAL = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
_NO_LIMIT = 10**9
"""model_max_length above this is transformers' VERY_LARGE_INTEGER: no stated limit."""


def _token_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def read_tokenizer(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add a `mkg:Tokenizer` node when the folder has tokenizer files."""
    config_path = files.get("tokenizer_config.json")
    special_path = files.get("special_tokens_map.json")
    vocab = [name for name in TOKENIZER_FILES if name in files]
    if config_path is None and special_path is None and not vocab:
        return
    node = draft.node("tokenizer")
    draft.add(draft.model.iri, MKG.hasTokenizer, node)
    draft.add(node, RDF.type, MKG.Tokenizer)
    tokens: dict[str, str] = {}
    if special_path is not None:
        special = read_json_object(special_path)
        for role in _SPECIAL:
            if (text := _token_text(special.get(role))) is not None:
                tokens[role] = text
    if config_path is not None:
        config = read_json_object(config_path)
        tokenizer_class = config.get("tokenizer_class")
        if isinstance(tokenizer_class, str):
            draft.add_value(node, MKG.tokenizerClass, tokenizer_class)
        max_length = config.get("model_max_length")
        if (
            isinstance(max_length, int | float)
            and not isinstance(max_length, bool)
            and 0 < max_length < _NO_LIMIT
        ):
            draft.add_value(node, MKG.modelMaxLength, int(max_length))
        if config.get("chat_template"):
            draft.add_value(node, MKG.chatTemplate, True)
        for role in _SPECIAL:
            if role not in tokens and (text := _token_text(config.get(role))) is not None:
                tokens[role] = text
    for role, text in sorted(tokens.items()):
        draft.add_value(node, MKG.specialToken, f"{role}={text}")
    if vocab:
        digest = hashlib.sha256()
        for name in vocab:
            digest.update(name.encode() + b"\0")
            with files[name].open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        draft.add_value(node, MKG.tokenizerDigest, digest.hexdigest())
