"""The list caps are honest: measured on the real corpus, above everything it holds, and a
file over a cap is refused before ingest builds anything from it (memory stays bounded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kg.errors import ConfigError
from kg.ingest.limits import LIST_CAPS, check_list_length
from kg.ingest.model_card import _model_index_size
from tests.conftest import CORPUS
from tests.kg.ingest.conftest import EXTRA_CORPUS, Registry


def _files(name: str) -> Iterator[Path]:
    for root in (CORPUS, EXTRA_CORPUS):
        yield from root.rglob(name)


def _front_matter(card: Path) -> dict[str, Any]:
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    match = REGEX_YAML_BLOCK.search(card.read_text(encoding="utf-8"))
    loaded = yaml.load(match.group(2), Loader=yaml.CSafeLoader) if match else None
    return loaded if isinstance(loaded, dict) else {}


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # the corpus's deliberately broken files are other tests' business


def _lengths(file: str, field: str) -> Iterator[int]:
    """Every length of `field` in the corpus's files of kind `file`, counted as ingest does."""
    if file == "README.md":
        for card in _files("README.md"):
            data = _front_matter(card)
            if field == "model-index results":
                yield _model_index_size(data, 10**9)
            elif isinstance(data.get(field), list):
                yield len(data[field])
        return
    if file == "label set":  # transformers' id2label, timm's label_names, SetFit's, spaCy's
        yield from _lengths("config.json", "id2label")
        yield from _lengths("config.json", "label_names")
        yield from _lengths("config_setfit.json", "labels")
        for meta in _files("meta.json"):
            labels = (_json(meta) or {}).get("labels")
            yield from (len(v) for v in (labels or {}).values() if isinstance(v, list))
        return
    if file == "spaCy pipeline":
        yield from _lengths("meta.json", "pipeline")
        return
    for path in _files(file):
        value = _json(path)
        if file == "modules.json" and isinstance(value, list):
            yield len(value)
        elif file == "model_index.json" and isinstance(value, dict):
            yield sum(1 for k, v in value.items() if not k.startswith("_") and isinstance(v, list))
        elif isinstance(value, dict) and isinstance(value.get(field), list | dict):
            yield len(value[field])


MEASURED = [key for key in LIST_CAPS if key[1] != "parts"]
"""Every cap but the parts of a config (nested sub-configs), which the corpus ingest checks."""


@pytest.mark.parametrize("key", MEASURED, ids=["/".join(k) for k in MEASURED])
def test_each_cap_states_the_longest_list_in_the_real_corpus_and_stays_above_it(
    key: tuple[str, str], corpus: Path
) -> None:
    cap = LIST_CAPS[key]

    longest = max(_lengths(*key), default=0)

    assert longest == cap.largest_seen, (key, longest)
    assert cap.cap >= 4 * max(cap.largest_seen, 1), cap


def test_the_whole_corpus_ingests_under_the_caps(corpus_registry: Registry) -> None:
    over = {who: why for who, why in corpus_registry.rejected().items() if "over the cap" in why}
    assert over == {}


def test_an_over_cap_list_names_the_field_the_count_and_the_cap() -> None:
    with pytest.raises(ConfigError) as caught:
        check_list_length("config.json", "architectures", 400_000, path="m/config.json")

    error = caught.value
    assert (error.path, error.field) == ("m/config.json", "architectures")
    assert "400,000 entries, over the cap of 64" in str(error)
    assert error.hint is not None and "the longest in the real corpus has 1" in error.hint
