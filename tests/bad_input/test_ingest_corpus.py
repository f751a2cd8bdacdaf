"""The bad-input corpus, ingest and CLI half: every case is data, and every case ends the same way.

The story: a platform engineer already has GPT-2 and BERT registered and points `modelkg ingest`
at a model folder broken in one of the ways downloads, editors, generators and attackers break
them (`ingest_cases/<case>/`: the model files, and `case.yaml` with the exit code and the words
of the message a user acts on), or calls the CLI with a bad argument (`cli_cases.yaml`). Each
time ModelKG exits with the stated code, names the file and the field, and not one byte of what
queries see changes; `modelkg validate` reports the same. Cases too big to commit (nesting
bombs, 400,000 architectures) are made at run time by the generator `case.yaml` names.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult, corpus_folder, dump

Cli = Callable[..., CliResult]

HERE = Path(__file__).parent
CASES = HERE / "ingest_cases"
CLI_CASES = HERE / "cli_cases.yaml"
SEEDED = ("openai-community/gpt2", "google-bert/bert-base-uncased")
"""In the store before every bad input."""
BERT = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
}


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def _nesting_bomb(folder: Path) -> None:
    _write(folder, "config.json", '{"model_type": "bert", "x": ' + "[" * 100_000 + "]" * 100_000)


def _config_over_5_mib(folder: Path) -> None:
    _write(folder, "config.json", json.dumps({**BERT, "notes": "x" * 6_000_000}))


def _fifo_config(folder: Path) -> None:
    os.mkfifo(folder / "config.json")
    _write(folder, "tokenizer_config.json", "{}")


def _architectures_400k(folder: Path) -> None:
    _write(folder, "config.json", json.dumps({**BERT, "architectures": ["BertModel"] * 400_000}))


def _id2label_over_cap(folder: Path) -> None:
    labels = {str(i): f"class {i}" for i in range(100_001)}
    config = {**BERT, "architectures": ["BertForSequenceClassification"], "id2label": labels}
    _write(folder, "config.json", json.dumps(config))


def _too_many_parts(folder: Path) -> None:
    parts = {f"part{i}_config": {"hidden_size": 64} for i in range(100)}
    _write(folder, "config.json", json.dumps({**BERT, **parts}))


def _target_modules_over_cap(folder: Path) -> None:
    adapter = {
        "peft_type": "LORA",
        "r": 8,
        "base_model_name_or_path": "openai-community/gpt2",
        "target_modules": [f"layers.{i}.q_proj" for i in range(5_000)],
    }
    _write(folder, "adapter_config.json", json.dumps(adapter))


def _languages_50k(folder: Path) -> None:
    _write(folder, "config.json", json.dumps(BERT))
    languages = "".join(f"- x{i}\n" for i in range(50_000))
    _write(folder, "README.md", f"---\nlanguage:\n{languages}---\n# A model\n")


def _yaml_nesting_bomb(folder: Path) -> None:
    _write(folder, "config.json", json.dumps(BERT))
    _write(folder, "README.md", "---\ntags: " + "[" * 100_000 + "]" * 100_000 + "\n---\n# x\n")


def _timm_labels_over_cap(folder: Path) -> None:
    config = {
        "architecture": "resnet50",
        "num_classes": 100_001,
        "pretrained_cfg": {"tag": "a1_in1k"},
        "label_names": [f"class {i}" for i in range(100_001)],
    }
    _write(folder, "config.json", json.dumps(config))


def _gguf_array_bomb(folder: Path) -> None:
    """Magic, version 3, no tensors, one key `abc` holding an array of 2**40 uint32."""
    key = struct.pack("<Q", 3) + b"abc"
    array = struct.pack("<IIQ", 9, 4, 2**40)  # type ARRAY of UINT32, its item count
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    (folder / "model.gguf").write_bytes(header + key + array + b"\0" * 64)


def _symlink_loop_readme(folder: Path) -> None:
    _write(folder, "config.json", json.dumps(BERT))
    (folder / "README.md").symlink_to("README.md")


def _fifo_vocab(folder: Path) -> None:
    _write(folder, "config.json", json.dumps(BERT))
    os.mkfifo(folder / "vocab.txt")


GENERATORS: dict[str, Callable[[Path], None]] = {
    "symlink_loop_readme": _symlink_loop_readme,
    "fifo_vocab": _fifo_vocab,
    "gguf_array_bomb": _gguf_array_bomb,
    "timm_labels_over_cap": _timm_labels_over_cap,
    "nesting_bomb": _nesting_bomb,
    "config_over_5_mib": _config_over_5_mib,
    "fifo_config": _fifo_config,
    "architectures_400k": _architectures_400k,
    "id2label_over_cap": _id2label_over_cap,
    "too_many_parts": _too_many_parts,
    "target_modules_over_cap": _target_modules_over_cap,
    "languages_50k": _languages_50k,
    "yaml_nesting_bomb": _yaml_nesting_bomb,
}
"""Cases made at run time (`generate:` in case.yaml): too big, or not files git can hold."""


@dataclass(frozen=True)
class IngestCase:
    """One folder of `ingest_cases/`: its model files and what ingesting them must say."""

    name: str
    about: str
    exit: int
    says: tuple[str, ...]
    generate: str | None

    def build(self, folder: Path) -> Path:
        """The case's model folder, copied (and generated) under `folder`."""
        model = folder / self.name
        shutil.copytree(CASES / self.name, model, ignore=shutil.ignore_patterns("case.yaml"))
        if self.generate:
            GENERATORS[self.generate](model)
        return model


def _ingest_cases() -> list[IngestCase]:
    cases = []
    for folder in sorted(CASES.iterdir()):
        data = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
        cases.append(
            IngestCase(
                folder.name,
                data["about"],
                data["exit"],
                tuple(data["says"]),
                data.get("generate"),
            )
        )
    return cases


INGEST_CASES = _ingest_cases()


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A closed store holding GPT-2 and BERT as `modelkg ingest` leaves them (reasoned), and
    its dump; each test copies it."""
    from resolvers.command import main

    path = tmp_path_factory.mktemp("seeded") / "store"
    models = [str(corpus_folder(h)) for h in SEEDED]
    assert main(["ingest", *models, "--store", str(path), "--quiet"]) == 0
    return path, dump(path)


@pytest.fixture
def seeded(
    seeded_template: tuple[Path, list[str]], tmp_path: Path
) -> Iterator[tuple[Path, list[str]]]:
    """This test's own store holding the seeded models, and what queries saw before."""
    template, before = seeded_template
    path = tmp_path / "store"
    shutil.copytree(template, path)
    yield path, before


def test_the_corpus_has_every_kind_of_case() -> None:
    assert len(INGEST_CASES) >= 40
    for case in INGEST_CASES:
        assert case.says, case.name
        assert case.generate is None or case.generate in GENERATORS, case.name


@pytest.mark.parametrize("case", INGEST_CASES, ids=[c.name for c in INGEST_CASES])
def test_bad_model_files_are_named_and_leave_the_store_as_it_was(
    case: IngestCase, seeded: tuple[Path, list[str]], tmp_path: Path, cli: Cli
) -> None:
    store, before = seeded
    folder = case.build(tmp_path / "models")

    result = cli("ingest", folder, "--store", store)

    assert result.code == case.exit, (case.about, result)
    for fragment in case.says:
        assert fragment.replace("{folder}", str(folder)) in result.err, (fragment, result.err)
    assert "rejected 1" in result.out
    assert "a ModelKG bug" not in result.err
    assert dump(store) == before

    checked = cli("validate", folder)

    assert checked.code == case.exit, checked
    report = "".join(checked.out.split())  # rich folds long lines
    for fragment in (case.says[0], case.says[-1]):
        assert "".join(fragment.replace("{folder}", str(folder)).split()) in report, checked.out


@dataclass(frozen=True)
class CliCase:
    """One entry of `cli_cases.yaml`: arguments, the exit code and words of the message."""

    id: str
    args: tuple[str, ...]
    exit: int
    says: tuple[str, ...]
    env: dict[str, str]
    xfail: str | None


def _cli_cases() -> list[CliCase]:
    data: list[dict[str, Any]] = yaml.safe_load(CLI_CASES.read_text(encoding="utf-8"))
    return [
        CliCase(
            entry["id"],
            tuple(entry["args"]),
            entry["exit"],
            tuple(entry["says"]),
            dict(entry.get("env", {})),
            entry.get("xfail"),
        )
        for entry in data
    ]


CLI_CASE_LIST = _cli_cases()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=c.xfail, strict=True)) if c.xfail else c
        for c in CLI_CASE_LIST
    ],
    ids=[c.id for c in CLI_CASE_LIST],
)
def test_bad_arguments_get_their_exit_code_and_leave_the_store_as_it_was(
    case: CliCase,
    seeded: tuple[Path, list[str]],
    tmp_path: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, before = seeded
    work = tmp_path / "work"
    work.mkdir()
    (work / "empty-cache").mkdir()
    (work / "a-file").write_text("not a store\n")
    good = tmp_path / "gpt2"
    shutil.copytree(corpus_folder(SEEDED[0]), good)
    places = {
        "{store}": str(store),
        "{good}": str(good),
        "{work}": str(work),
        "{missing}": str(work / "no-such-folder"),
    }

    def fill(text: str) -> str:
        for key, value in places.items():
            text = text.replace(key, value)
        return text

    monkeypatch.chdir(work)
    for name, value in case.env.items():
        monkeypatch.setenv(name, fill(value))

    result = cli(*(fill(a) for a in case.args))

    assert result.code == case.exit, result
    said = " ".join((result.out + result.err).split())
    for fragment in case.says:
        assert fill(fragment) in said, (fragment, said)
    assert "Traceback" not in result.err
    assert dump(store) == before
    assert sorted(p.name for p in work.iterdir()) == ["a-file", "empty-cache"]
