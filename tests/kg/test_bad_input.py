"""A user feeds ModelKG broken metadata: every mistake is named, and the store stays as it was.

The story: a platform engineer already has GPT-2 registered and points `modelkg ingest` at a
folder whose files are broken in one of the ways real downloads and hand edits break them. Each
time ModelKG exits 1, names the file, the field and what it expected, and not one byte of what
queries see changes. Bad queries and bad options get the same care (exit 1 and exit 2).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.ingest.json_file import MAX_METADATA_BYTES
from tests.conftest import CliResult, corpus_folder, dump

Cli = Callable[..., CliResult]

GOOD = "openai-community/gpt2"
"""Already in the store before every bad ingest."""
OTHERS = ("google-bert/bert-base-uncased", "distilbert/distilroberta-base")
"""Two more good models, for batches."""
UNKNOWN_TYPE = "tiiuae/falcon-40b"
"""Its config says `"model_type": "RefinedWeb"`, a name transformers does not know."""


def bert_config(**changes: object) -> dict[str, object]:
    """The real config.json of bert-base-uncased, with `changes` applied."""
    config: dict[str, object] = json.loads(
        (corpus_folder("google-bert/bert-base-uncased") / "config.json").read_text()
    )
    config.update(changes)
    return config


def gpt2_config(**changes: object) -> dict[str, object]:
    """The real config.json of GPT-2 (which spells hidden_size `n_embd`), with `changes`."""
    config: dict[str, object] = json.loads((corpus_folder(GOOD) / "config.json").read_text())
    config.update(changes)
    return config


def write_model(folder: Path, config: object = None, *, raw: bytes | None = None) -> Path:
    """A model folder holding `config` as its config.json (or exactly the bytes `raw`)."""
    folder.mkdir(parents=True)
    data = raw if raw is not None else json.dumps(config, indent=2).encode()
    (folder / "config.json").write_bytes(data)
    return folder


@dataclass(frozen=True)
class BadInput:
    """One way to break a model's metadata, and what the error must say about it.

    `says` are fragments of stderr; `{folder}` stands for the bad model folder.
    """

    id: str
    build: Callable[[Path], Path]
    says: tuple[str, ...]


def _malformed(folder: Path) -> Path:
    return write_model(folder, raw=b'{\n  "model_type": "bert",\n  "hidden_size": 768,,\n}\n')


def _too_large(folder: Path) -> Path:
    return write_model(folder, bert_config(notes="x" * (MAX_METADATA_BYTES + 1)))


def _latin1(folder: Path) -> Path:
    text = json.dumps(bert_config(description="café"), ensure_ascii=False)
    return write_model(folder, raw=text.encode("latin-1"))


def _broken_card(folder: Path) -> Path:
    write_model(folder, bert_config())
    card = "---\nlicense: apache-2.0\ntags: [nlp, bert\nlanguage: en\n---\n# A model\n"
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


BAD_INPUTS = [
    BadInput(
        "malformed-json",
        _malformed,
        ("{folder}/config.json", "malformed JSON at line 3, column 22"),
    ),
    BadInput(
        "config-is-a-list",
        lambda f: write_model(f, [bert_config()]),
        ("{folder}/config.json", "JSON list", "expected a JSON object"),
    ),
    BadInput(
        "hidden-size-is-a-word",
        lambda f: write_model(f, bert_config(hidden_size="big")),
        ("{folder}/config.json", "field `hidden_size`", '"big"', "whole number"),
    ),
    BadInput(
        "gpt2-n-embd-is-a-boolean",
        lambda f: write_model(f, gpt2_config(n_embd=True)),
        ("{folder}/config.json", "field `n_embd`", "true", "whole number"),
    ),
    BadInput(
        "negative-attention-heads",
        lambda f: write_model(f, bert_config(num_attention_heads=-4)),
        ("{folder}", "config.json: field `num_attention_heads`", "from 1 to 65536", "-4"),
    ),
    BadInput(
        "absurd-hidden-size",
        lambda f: write_model(f, bert_config(hidden_size=10**9)),
        ("{folder}", "config.json: field `hidden_size`", "from 1 to 1048576", "1000000000"),
    ),
    BadInput(
        "no-model-type-nor-architectures",
        lambda f: write_model(f, {"hidden_size": 768, "num_hidden_layers": 12}),
        ("{folder}/config.json", "field `model_type`", "expected a transformers model type"),
    ),
    BadInput(
        "config-over-5-mib",
        _too_large,
        ("{folder}/config.json", f"over the {MAX_METADATA_BYTES:,}-byte cap"),
    ),
    BadInput(
        "latin-1-bytes",
        _latin1,
        ("{folder}/config.json", "not UTF-8", "byte 0xe9", "expected UTF-8 text"),
    ),
    BadInput(
        "broken-yaml-front-matter",
        _broken_card,
        ("{folder}/README.md", "field `front matter`", "line 4", "expected valid YAML"),
    ),
    BadInput(
        "id2label-key-not-a-number",
        lambda f: write_model(
            f,
            bert_config(
                architectures=["BertForSequenceClassification"],
                id2label={"0": "NEGATIVE", "positive": "POSITIVE"},
            ),
        ),
        (
            "{folder}/config.json",
            "field `id2label.positive`",
            "not a whole number",
            'expected label ids "0"',
        ),
    ),
    BadInput(
        "path-does-not-exist",
        lambda f: f,
        ("{folder}", "no such file or folder"),
    ),
]


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A closed store holding GPT-2, and its dump: copied for each test (a fresh store is slow)."""
    from kg.ingest.pipeline import ingest
    from kg.store import open_store

    path = tmp_path_factory.mktemp("template") / "store"
    store = open_store(str(path))
    summary = ingest([str(corpus_folder(GOOD))], store)
    store.close()
    assert summary.ingested == [GOOD], summary
    return path, dump(path)


@pytest.fixture
def seeded(
    seeded_template: tuple[Path, list[str]], tmp_path: Path
) -> Iterator[tuple[Path, list[str]]]:
    """This test's own store with GPT-2 in it, and what queries saw before the test."""
    template, before = seeded_template
    path = tmp_path / "store"
    shutil.copytree(template, path)
    yield path, before


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b.id for b in BAD_INPUTS])
def test_bad_input_is_named_and_leaves_the_store_as_it_was(
    bad: BadInput, seeded: tuple[Path, list[str]], tmp_path: Path, cli: Cli
) -> None:
    store, before = seeded
    folder = bad.build(tmp_path / "bad-model")

    result = cli("ingest", folder, "--store", store)

    assert result.code == 1, result
    for fragment in bad.says:
        assert fragment.replace("{folder}", str(folder)) in result.err, result.err
    assert "rejected 1" in result.out
    assert dump(store) == before


def test_a_batch_with_one_bad_model_ingests_the_good_ones(
    seeded: tuple[Path, list[str]], tmp_path: Path, cli: Cli
) -> None:
    store, before = seeded
    bad = write_model(tmp_path / "bad-model", bert_config(hidden_size="big"))

    result = cli("ingest", bad, *(corpus_folder(h) for h in OTHERS), "--store", store)

    assert result.code == 1
    assert "ingested 2, updated 0, unchanged 0, rejected 1" in result.out
    assert f"rejected {bad}" in result.err
    after = set(dump(store)) - set(before)
    for hub_id in OTHERS:
        assert any(f"<https://huggingface.co/{hub_id}>" in quad for quad in after), hub_id


def test_strict_batch_with_one_bad_model_writes_nothing(
    seeded: tuple[Path, list[str]], tmp_path: Path, cli: Cli
) -> None:
    store, before = seeded
    bad = write_model(tmp_path / "bad-model", bert_config(hidden_size="big"))

    result = cli("ingest", bad, *(corpus_folder(h) for h in OTHERS), "--store", store, "--strict")

    assert result.code == 1
    assert "ingested 0" in result.out
    assert "rejected 1" in result.out
    assert "nothing was written" in result.err
    assert dump(store) == before


def test_unknown_model_type_is_a_warning_unless_strict(
    seeded_template: tuple[Path, list[str]], tmp_path: Path, cli: Cli
) -> None:
    template, before = seeded_template
    falcon = tmp_path / "falcon-40b"
    shutil.copytree(corpus_folder(UNKNOWN_TYPE), falcon)
    lenient, strict = tmp_path / "lenient", tmp_path / "strict"
    shutil.copytree(template, lenient)
    shutil.copytree(template, strict)

    result = cli("ingest", falcon, "--store", lenient)
    assert result.code == 0, result
    assert "ingested 1" in result.out
    assert "warning" in result.err
    assert "RefinedWeb" in result.err
    assert len(dump(lenient)) > len(before)

    result = cli("ingest", falcon, "--store", strict, "--strict")
    assert result.code == 1, result
    assert f"rejected {UNKNOWN_TYPE}" in result.err
    assert "RefinedWeb" in result.err
    assert dump(strict) == before


def test_two_local_folders_with_the_same_config_are_told_apart_or_refused_clearly(
    seeded: tuple[Path, list[str]], tmp_path: Path, cli: Cli
) -> None:
    """Two local fine-tunes that kept their base's config.json (no hub id): ModelKG names a
    local model by its config's digest, so the second one must be refused like a repeated hub
    id is, naming both folders, and the first one ingested as it is."""
    store, before = seeded
    first = write_model(tmp_path / "models" / "a-first", bert_config())
    second = write_model(tmp_path / "models" / "b-second", bert_config())
    (second / "README.md").write_text("---\nlicense: mit\n---\nAnother fine-tune.\n")

    result = cli("ingest", tmp_path / "models", "--store", store)

    assert result.code == 1
    assert "ingested 1, updated 0, unchanged 0, rejected 1" in result.out
    rejected = [line for line in result.err.splitlines() if line.startswith("rejected")]
    assert len(rejected) == 1
    assert str(first) in rejected[0], rejected[0]
    assert str(second) in rejected[0], rejected[0]
    assert "schema:name" not in rejected[0]
    names = [q for q in set(dump(store)) - set(before) if "<https://schema.org/name>" in q]
    assert len(names) == 1


def test_reingesting_a_model_that_got_a_violation_keeps_the_good_version(
    tmp_path: Path, store_path: Path, cli: Cli
) -> None:
    folder = tmp_path / "gpt2"
    shutil.copytree(corpus_folder(GOOD), folder)
    assert cli("ingest", folder, "--store", store_path).code == 0
    before = dump(store_path)

    (folder / "config.json").write_text(json.dumps(gpt2_config(n_head=-4)))
    result = cli("ingest", folder, "--store", store_path)

    assert result.code == 1
    assert "config.json: field `n_head`" in result.err
    assert "updated 0" in result.out
    assert dump(store_path) == before


def test_bad_sparql_names_line_and_column(seeded: tuple[Path, list[str]], cli: Cli) -> None:
    store, before = seeded

    result = cli("query", "SELECT ?m WHERE { ?m mkg:hiddenSize }", "--store", store)

    assert result.code == 1
    assert result.err.startswith("error:")
    assert "line 1, column" in result.err
    assert dump(store) == before


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("query", "SELECT ?m WHERE { ?m a mkg:Model }"), "json, xml, csv, tsv"),
        (("export",), "turtle, nquads, jsonld"),
    ],
    ids=["query", "export"],
)
def test_unknown_format_is_a_usage_error(
    command: tuple[str, ...], expected: str, seeded: tuple[Path, list[str]], cli: Cli
) -> None:
    store, _ = seeded

    result = cli(*command, "--format", "yaml", "--store", store)

    assert result.code == 2
    assert "`yaml`" in result.err
    assert expected in result.err
