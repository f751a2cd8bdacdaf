"""The `modelkg` command line, used the way a platform engineer uses it.

The story: they read `--help` (every command shows an example they can copy), check a folder of
models with `modelkg validate`, ingest many models, run the same ingest again (nothing to do),
edit one config and ingest once more (one model updated, and queries see the new value).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import typer

from kg import __version__
from resolvers.commands import app
from tests.conftest import CORPUS, CliResult, corpus_folder

Cli = Callable[..., CliResult]

BERT = "google-bert/bert-base-uncased"
UNKNOWN_TYPE = "tiiuae/falcon-40b"


def command_paths(
    typer_app: typer.Typer, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every command and command group registered on `typer_app`, as argv prefixes."""
    for command in typer_app.registered_commands:
        assert command.callback is not None
        yield (*prefix, command.name or command.callback.__name__.replace("_", "-"))
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        name = group.name or group.typer_instance.info.name
        assert isinstance(name, str)
        yield (*prefix, name)
        yield from command_paths(group.typer_instance, (*prefix, name))


COMMANDS = sorted(command_paths(app))


def _help_text(typer_app: typer.Typer, path: tuple[str, ...]) -> str | None:
    """The docstring (or group help) behind a command path."""
    head, *rest = path
    for command in typer_app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        if name == head and not rest:
            return command.callback.__doc__ or ""
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        name = group.name or group.typer_instance.info.name
        if name == head:
            if not rest:
                help_text = group.typer_instance.info.help
                return help_text if isinstance(help_text, str) else ""
            return _help_text(group.typer_instance, tuple(rest))
    return None


def documented_examples(path: tuple[str, ...]) -> list[str]:
    """The `modelkg ...` lines under "Example:" in a command's docstring."""
    doc = _help_text(app, path) or ""
    after = doc.split("Example:", 1)[-1] if "Example:" in doc else ""
    return [line.strip() for line in after.splitlines() if line.strip().startswith("modelkg ")]


def test_every_command_is_registered() -> None:
    assert {path[0] for path in COMMANDS} >= {"ingest", "validate", "query", "export", "catalog"}


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...], cli: Cli) -> None:
    result = cli(*path, "--help")

    assert result.code == 0, result.err
    assert f"Usage: modelkg {' '.join(path)}" in result.out
    assert "Example" in result.out


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_the_example_in_help_can_be_copied_whole(
    path: tuple[str, ...], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    examples = documented_examples(path)
    assert examples, f"`modelkg {' '.join(path)}` documents no `modelkg ...` example"

    shown = [line.strip() for line in cli(*path, "--help").out.splitlines()]

    for example in examples:
        assert example in shown, f"the example is not shown on one line: {example}"


def test_the_top_level_help_lists_every_command(cli: Cli) -> None:
    result = cli("--help")

    assert result.code == 0
    assert "Example" in result.out
    for path in COMMANDS:
        assert re.search(rf"^\s+{re.escape(path[0])}\s", result.out, re.MULTILINE), path


def test_version(cli: Cli) -> None:
    result = cli("--version")

    assert result.code == 0
    assert result.out.strip() == f"modelkg {__version__}"
    assert __version__ == version("modelkg")


# --- validate -------------------------------------------------------------------------------


@pytest.fixture
def violating_bert(tmp_path: Path) -> Path:
    """A copy of bert-base-uncased whose config claims -4 attention heads."""
    folder = tmp_path / "bert-base-uncased"
    shutil.copytree(corpus_folder(BERT), folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_attention_heads"] = -4
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def test_validate_a_good_model_conforms(cli: Cli) -> None:
    result = cli("validate", corpus_folder(BERT))

    assert result.code == 0, result.out
    assert "checked 1 model(s) with compiled: conforms" in result.out


def test_validate_names_the_file_and_field_of_a_violation(violating_bert: Path, cli: Cli) -> None:
    result = cli("validate", violating_bert)

    assert result.code == 1
    assert "config.json" in result.out
    assert "num_attention_heads" in result.out
    assert "violations found" in result.out


def test_validate_report_shows_the_model_and_value_in_full(violating_bert: Path, cli: Cli) -> None:
    result = cli("validate", violating_bert)

    assert result.code == 1
    assert BERT in result.out, result.out
    assert "(value -4)" in result.out
    assert "…" not in result.out, result.out


@pytest.mark.parametrize("case", ["good", "violation", "unknown-model-type"])
def test_pyshacl_engine_gives_the_same_verdict(case: str, violating_bert: Path, cli: Cli) -> None:
    folder = {
        "good": corpus_folder(BERT),
        "violation": violating_bert,
        "unknown-model-type": corpus_folder(UNKNOWN_TYPE),
    }[case]

    compiled = cli("validate", folder, "--engine", "compiled")
    reference = cli("validate", folder, "--engine", "pyshacl")

    assert reference.code == compiled.code, reference.out
    verdict = compiled.out.strip().splitlines()[-1].replace("compiled", "pyshacl")
    assert reference.out.strip().splitlines()[-1] == verdict


def test_validate_rejects_an_unknown_engine(cli: Cli) -> None:
    result = cli("validate", corpus_folder(BERT), "--engine", "fast")

    assert result.code == 2
    assert "compiled or pyshacl" in result.err


# --- ingest, again, and after an edit ----------------------------------------------------

MANY = sorted(
    p.name
    for p in (CORPUS.iterdir() if CORPUS.is_dir() else ())
    if (p / "PROVENANCE.json").is_file()
)[:18]
"""Enough models that ingest reads them in worker processes."""


def test_ingest_many_then_again_then_after_an_edit(
    tmp_path: Path, store_path: Path, cli: Cli
) -> None:
    models = tmp_path / "models"
    for name in [*MANY, "google-bert__bert-base-uncased"]:
        shutil.copytree(CORPUS / name, models / name)
    count = len(MANY) + 1

    first = cli("ingest", models, "--store", store_path)
    assert first.code == 0, first.err
    assert re.search(
        rf"^ingested {count}, updated 0, unchanged 0, rejected 0 \(\d+ triples", first.out, re.M
    )

    again = cli("ingest", models, "--store", store_path)
    assert again.code == 0, again.err
    assert f"ingested 0, updated 0, unchanged {count}, rejected 0 (0 triples" in again.out

    config_file = models / "google-bert__bert-base-uncased" / "config.json"
    config = json.loads(config_file.read_text())
    config["hidden_size"] = 1024
    config_file.write_text(json.dumps(config, indent=2))
    edited = cli("ingest", models, "--store", store_path)
    assert edited.code == 0, edited.err
    assert f"ingested 0, updated 1, unchanged {count - 1}, rejected 0" in edited.out

    answer = cli(
        "query",
        f"SELECT ?h WHERE {{ <https://huggingface.co/{BERT}> mkg:hiddenSize ?h }}",
        "--format",
        "csv",
        "--store",
        store_path,
    )
    assert answer.code == 0, answer.err
    assert answer.out.split() == ["h", "1024"]


def test_quiet_ingest_prints_only_the_summary(store_path: Path, cli: Cli) -> None:
    result = cli("ingest", corpus_folder(UNKNOWN_TYPE), "--store", store_path, "-q")

    assert result.code == 0
    assert result.err == ""
    assert result.out.startswith("ingested 1, updated 0, unchanged 0, rejected 0")
    assert "1 warnings" in result.out
