"""A config counted once is not built again: not in the next process, nor the next ingest.

A user ingests a folder of models, then ingests it again into another store, or a server
restarts and sizes what it is given: each process would build every config on the meta device
again, after importing transformers' modeling code for it. The counts are kept on disk
(`kg.compat.count_cache`), keyed by the config text and by what the count depends on, so an
upgrade or an edit of the counting code counts again, and a cache that cannot be used or holds
something else never changes an answer.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sqlite3
import subprocess
import sys
import weakref
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kg.compat import count_cache as cache_module
from kg.compat import size
from kg.compat.count_cache import CACHE_DIR_VARIABLE, count_cache
from kg.errors import ConfigError
from tests.conftest import corpus_folder

BERT = (corpus_folder("google-bert/bert-base-uncased") / "config.json").read_text()
BERT_PARAMETERS = 124_696_665
"""BertForMaskedLM, as transformers builds it (the LM head tied to the embeddings)."""
UNCOUNTABLE = json.dumps({"model_type": "not-a-model-type", "hidden_size": 8})
"""A type transformers does not know and too little for the formula: a ConfigError."""

_COUNT_IN_A_FRESH_PROCESS = """
import json, sys
from kg.compat.size import count_parameters_json
try:
    found = {"value": count_parameters_json(sys.argv[1]).value}
except Exception as exc:
    found = {"error": str(exc)}
found["built"] = "transformers" in sys.modules
print(json.dumps(found))
"""


def _count_in_a_fresh_process(config_json: str, cache_dir: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_IN_A_FRESH_PROCESS, config_json],
        env={**os.environ, CACHE_DIR_VARIABLE: str(cache_dir), "HF_HUB_OFFLINE": "1"},
        cwd=Path(__file__).parents[3],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert isinstance(found, dict)
    return found


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache folder of the test's own, and no count remembered in this process."""
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "cache"))
    size.count_parameters_json.cache_clear()
    yield tmp_path / "cache"
    size.count_parameters_json.cache_clear()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model types built on the meta device from now on."""
    built: list[str] = []
    build = size._count_on_meta_device

    def counting(config: dict[str, object]) -> size.ParameterCount:
        built.append(str(config.get("model_type")))
        return build(config)

    monkeypatch.setattr(size, "_count_on_meta_device", counting)
    return built


@pytest.mark.parametrize(
    ("config_json", "answer"),
    [(BERT, '"value": 124696665'), (UNCOUNTABLE, "cannot count the parameters")],
    ids=["counted", "uncountable"],
)
def test_a_second_process_answers_from_the_cache_without_building(
    config_json: str, answer: str, cache_dir: Path
) -> None:
    first = _count_in_a_fresh_process(config_json, cache_dir)
    second = _count_in_a_fresh_process(config_json, cache_dir)

    assert first.pop("built") is True
    assert second.pop("built") is False
    assert second == first
    assert answer in json.dumps(first)


def test_the_cached_answer_is_the_built_one_with_its_working(
    cache_dir: Path, builds: list[str]
) -> None:
    built = size.count_parameters_json(BERT)
    size.count_parameters_json.cache_clear()

    again = size.count_parameters_json(BERT)

    assert again == built
    assert builds == ["bert"]


def test_an_uncountable_config_raises_the_same_error_from_the_cache(
    cache_dir: Path, builds: list[str]
) -> None:
    with pytest.raises(ConfigError) as first:
        size.count_parameters_json(UNCOUNTABLE)
    with pytest.raises(ConfigError) as second:
        size.count_parameters_json(UNCOUNTABLE)

    assert str(second.value) == str(first.value)
    assert (second.value.field, second.value.hint) == (first.value.field, first.value.hint)
    assert builds == ["not-a-model-type"]


def test_an_edit_of_the_counting_code_counts_again(
    cache_dir: Path, builds: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "size.py"
    code.write_text("# the counting code, as it was")
    monkeypatch.setattr(cache_module, "_COUNTING_CODE", (code,))
    cache_module._counted_by.cache_clear()
    size.count_parameters_json(BERT)
    size.count_parameters_json.cache_clear()

    code.write_text("# the counting code, edited")
    cache_module._counted_by.cache_clear()
    size.count_parameters_json(BERT)
    cache_module._counted_by.cache_clear()

    assert builds == ["bert", "bert"]


@pytest.mark.parametrize(
    "kept",
    [
        {"value": "109482240", "method": "meta-device", "detail": "a string, not a count"},
        {"value": 1, "method": "guessed", "detail": "an unknown method"},
        {"error": {"message": 42}},
        ["not", "a", "mapping"],
    ],
    ids=["value-as-text", "unknown-method", "error-without-message", "a-list"],
)
def test_an_entry_that_is_not_a_count_is_counted_again_and_replaced(
    kept: object, cache_dir: Path, builds: list[str]
) -> None:
    count_cache().put(BERT, kept)  # type: ignore[arg-type]

    count = size.count_parameters_json(BERT)

    assert count.value == BERT_PARAMETERS
    assert builds == ["bert"]
    assert count_cache().get(BERT) == {
        "value": BERT_PARAMETERS,
        "method": "meta-device",
        "detail": count.detail,
    }


@pytest.mark.parametrize(
    "stored", [b"\x00\xff not zlib", zlib.compress(b"{not json")], ids=["not-zlib", "not-json"]
)
def test_an_entry_damaged_on_disk_is_counted_again(
    stored: bytes, cache_dir: Path, builds: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    count_cache().put(BERT, {"value": 1, "method": "formula", "detail": "to be damaged"})
    with sqlite3.connect(cache_dir / "parameter-counts" / "cache.db") as database:
        database.execute("UPDATE Cache SET value = ?", (stored,))

    with caplog.at_level(logging.WARNING, logger="kg.compat.count_cache"):
        count = size.count_parameters_json(BERT)

    assert count.value == BERT_PARAMETERS
    assert builds == ["bert"]
    assert "a kept parameter count could not be read" in caplog.text
    assert count_cache().get(BERT) == {
        "value": BERT_PARAMETERS,
        "method": "meta-device",
        "detail": count.detail,
    }


def _a_file_in_its_place(root: Path) -> Path:
    root.write_text("not a folder")
    return root / "parameter-counts"


def _a_database_that_is_not_one(root: Path) -> Path:
    folder = root / "parameter-counts"
    folder.mkdir(parents=True)
    (folder / "cache.db").write_bytes(b"\x00not sqlite\xff" * 400)
    return folder


@pytest.mark.parametrize("damage", [_a_file_in_its_place, _a_database_that_is_not_one])
def test_a_cache_that_cannot_be_used_still_counts_and_says_how_to_fix_it(
    damage: Callable[[Path], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = damage(tmp_path / "cache")
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "cache"))
    size.count_parameters_json.cache_clear()

    with caplog.at_level(logging.WARNING, logger="kg.compat.count_cache"):
        count = size.count_parameters_json(BERT)
    size.count_parameters_json.cache_clear()

    assert count.value == BERT_PARAMETERS
    assert f"cannot use {folder}" in caplog.text
    assert f"remove that folder (it is only a cache), or set {CACHE_DIR_VARIABLE}" in caplog.text


class _QueryResults:
    """Stands in for a store's query results in a caller's frame (pyoxigraph's must be
    released on the thread that made them: by reference counting, not the cyclic collector,
    which may run on any thread)."""


@pytest.mark.parametrize("source", ["counted", "from the cache"])
def test_an_uncountable_config_leaves_its_callers_frame_to_reference_counting(
    cache_dir: Path, source: str
) -> None:
    if source == "from the cache":
        with pytest.raises(ConfigError):
            size.count_parameters_json(UNCOUNTABLE)
        size.count_parameters_json.cache_clear()

    failures: list[str] = []

    def caller(results: _QueryResults) -> None:
        try:
            size.count_parameters_json(UNCOUNTABLE)
        except ConfigError as error:
            failures.append(str(error))  # as a sizing loop records it, and goes on

    results = _QueryResults()
    released = weakref.ref(results)
    gc.collect()
    gc.disable()
    try:
        caller(results)
        del results
        assert failures and released() is None, "the caller's frame was kept in a cycle"
    finally:
        gc.enable()
