"""Hostile JSON spellings: each is refused with the file, the line and the column, or accepted
on purpose because transformers and diffusers accept it too (and real files use it)."""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path

import pytest

from kg.errors import EncodingError, InputError, JSONSyntaxError
from kg.ingest.json_file import read_json_object
from kg.ingest.limits import MAX_JSON_DEPTH
from tests.kg.ingest.conftest import EXTRA_CORPUS, Registry


def _config(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_keys_are_read_as_transformers_reads_them_the_last_one_wins(
    tmp_path: Path,
) -> None:
    real = EXTRA_CORPUS / "impira__layoutlm-document-qa" / "tokenizer_config.json"
    assert real.read_text().count('"add_prefix_space"') == 2  # a real file repeats a key
    assert read_json_object(real)["add_prefix_space"] is True

    config = read_json_object(_config(tmp_path, '{"hidden_size": 1, "hidden_size": 768}'))

    assert config == {"hidden_size": 768}


def test_nan_and_infinity_literals_are_read_as_pythons_json_writes_them(tmp_path: Path) -> None:
    scheduler = EXTRA_CORPUS / "PixArt-alpha__PixArt-XL-2-1024-MS" / "scheduler"
    assert "-Infinity" in (scheduler / "scheduler_config.json").read_text()

    config = read_json_object(_config(tmp_path, '{"a": NaN, "b": -Infinity, "c": 1e400}'))

    assert math.isnan(config["a"]) and config["b"] == -math.inf and config["c"] == math.inf


def test_a_surrogate_pair_escape_is_the_character_and_half_a_pair_is_refused(
    tmp_path: Path,
) -> None:
    assert read_json_object(_config(tmp_path, '{"name": "\\ud83d\\ude00"}')) == {"name": "😀"}
    assert read_json_object(_config(tmp_path, '{"name": "\\\\ud800"}')) == {"name": "\\ud800"}

    with pytest.raises(EncodingError, match=r"line 2, column 10: a lone surrogate escape"):
        read_json_object(_config(tmp_path, '{\n"name": "\\ud83dx"}'))


def test_nesting_is_read_up_to_the_cap_and_refused_beyond_it_with_where(tmp_path: Path) -> None:
    inner = MAX_JSON_DEPTH - 1  # the top-level object is the first level
    assert read_json_object(_config(tmp_path, '{"x": ' + "[" * inner + "]" * inner + "}"))

    deeper = '{"x": ' + "[" * (inner + 1) + "]" * (inner + 1) + "}"
    with pytest.raises(JSONSyntaxError) as caught:
        read_json_object(_config(tmp_path, deeper))

    assert (caught.value.line, caught.value.column) == (1, 7 + inner)
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in str(caught.value)


def test_a_nesting_bomb_is_a_syntax_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(JSONSyntaxError, match="column 33: nested deeper"):
        read_json_object(_config(tmp_path, "[" * 200_000 + "]" * 200_000))


def test_byte_order_marks_are_refused_with_how_to_re_save(tmp_path: Path) -> None:
    with pytest.raises(EncodingError, match="byte-order mark") as caught:
        read_json_object(_config(tmp_path, b"\xef\xbb\xbf{}"))
    assert caught.value.hint == "re-save the file as UTF-8 without BOM"

    with pytest.raises(EncodingError, match="the byte-order mark of UTF-16"):
        read_json_object(_config(tmp_path, json.dumps({"a": 1}).encode("utf-16")))


def test_a_fifo_named_config_json_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, fifo), daemon=True)

    reader.start()
    reader.join(timeout=30)

    assert not reader.is_alive(), "reading a FIFO blocked"
    [error] = outcome
    assert isinstance(error, InputError)
    assert "not a regular file but a FIFO" in str(error)


def _capture(outcome: list[BaseException], path: Path) -> None:
    try:
        read_json_object(path)
    except BaseException as exc:  # handed to the test thread
        outcome.append(exc)


def test_a_symlink_out_of_the_model_folder_is_followed_as_hf_caches_need(
    tmp_path: Path, registry: Registry
) -> None:
    """Accepted on purpose: a HF cache snapshot is symlinks into `../../blobs`, outside the
    snapshot folder; whoever runs `modelkg ingest` can read the target anyway. A server that
    ingests folders for others confines them with `kg.ingest.sources.confine`
    (tests/kg/ingest/test_sources.py)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 64}))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").symlink_to(elsewhere / "config.json")

    summary = registry.ingest(folder)

    assert summary.ok, summary.rejected
    assert len(summary.ingested) == 1
