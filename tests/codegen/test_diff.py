"""A release manager saves a model's interface, registers its next version, and asks what
changed: every change is classified by semver, and a breaking one fails the command so CI
stops the release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegen.diff import compare
from codegen.interface import Argument, Function, ModelInterface, describe
from kg.ingest.register import register
from kg.store import ModelStore, open_store
from resolvers.command import main
from tests.codegen.conftest import LLM, TEXT_CLASSIFIER, copy_model


def test_a_new_version_whose_labels_changed_is_a_major_bump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_model(TEXT_CLASSIFIER, tmp_path)
    location = str(tmp_path / "kg")
    with open_store(location) as store:
        register([str(folder)], store, size=False)
    snapshot = tmp_path / "v1.json"
    assert (
        main(["codegen", "describe", TEXT_CLASSIFIER, "--store", location, "-o", str(snapshot)])
        == 0
    )
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "negative", "1": "neutral", "2": "positive"}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (folder / "config.json").write_text(json.dumps(config))
    with open_store(location) as store:
        register([str(folder)], store, size=False)
    capsys.readouterr()

    code = main(["codegen", "diff", str(snapshot), TEXT_CLASSIFIER, "--store", location])

    out = capsys.readouterr().out
    assert code == 1
    assert "major: classify: result labels changed: removed '1 star'" in out
    assert out.rstrip().endswith("bump: major")
    assert main(["codegen", "diff", str(snapshot), str(snapshot), "--store", location]) == 0


def _interface(*arguments: Argument, labels: tuple[str, ...] = ("a", "b")) -> ModelInterface:
    function = Function.model_validate(
        {
            "name": "classify",
            "task": "text-classification",
            "task_label": "Text Classification",
            "runtime": "transformers",
            "pipeline_task": "text-classification",
            "description": "",
            "arguments": arguments,
            "result": {
                "kind": "LabelSet",
                "python_type": "str",
                "json_type": "string",
                "labels": labels,
            },
        }
    )
    return ModelInterface.model_validate(
        {
            "model_id": "m",
            "iri": "urn:m",
            "module": "m",
            "summary": "",
            "license": None,
            "intended_use": None,
            "limitations": None,
            "library": None,
            "modalities": [],
            "max_sequence_length": None,
            "weights_bytes": None,
            "source_location": None,
            "functions": [function],
        }
    )


TEXT = Argument(name="text", kind="Text", python_type="str", json_type="string")
LIMIT = Argument(
    name="limit",
    kind=None,
    python_type="int",
    json_type="integer",
    required=False,
    default=5,
    minimum=1,
    maximum=10,
)


@pytest.mark.parametrize(
    ("old", "new", "bump", "change"),
    [
        (_interface(TEXT), _interface(TEXT), "none", None),
        (_interface(TEXT, LIMIT), _interface(TEXT), "major", "classify(limit): argument removed"),
        (_interface(TEXT), _interface(TEXT, LIMIT), "minor", "optional argument added"),
        (
            _interface(TEXT),
            _interface(TEXT, LIMIT.model_copy(update={"required": True, "default": None})),
            "major",
            "required argument added",
        ),
        (
            _interface(TEXT, LIMIT),
            _interface(TEXT, LIMIT.model_copy(update={"maximum": 8})),
            "major",
            "maximum 10 -> 8: narrowed",
        ),
        (
            _interface(TEXT, LIMIT),
            _interface(TEXT, LIMIT.model_copy(update={"maximum": 20})),
            "minor",
            "maximum 10 -> 20: widened",
        ),
        (
            _interface(TEXT, LIMIT),
            _interface(TEXT, LIMIT.model_copy(update={"default": 3})),
            "patch",
            "default 5 -> 3",
        ),
        (
            _interface(TEXT),
            _interface(TEXT.model_copy(update={"python_type": "list[str]"})),
            "major",
            "type str -> list[str]",
        ),
        (_interface(TEXT), _interface(TEXT, labels=("a", "b", "c")), "major", "added 'c'"),
        (_interface(TEXT, LIMIT), _interface(LIMIT, TEXT), "major", "arguments reordered"),
    ],
)
def test_every_change_is_classified_by_semver(
    old: ModelInterface, new: ModelInterface, bump: str, change: str | None
) -> None:
    report = compare(old, new)

    assert report.bump == bump
    if change is not None:
        assert any(change in c.describe() for c in report.changes), report.changes


def test_a_removed_function_is_major_and_a_new_one_minor(registry: ModelStore) -> None:
    classifier, llm = describe(registry, TEXT_CLASSIFIER), describe(registry, LLM)

    changes = [c.describe() for c in compare(classifier, llm).changes]

    assert "major: classify: function removed" in changes
    assert "minor: generate: function added" in changes


def test_a_file_that_is_no_description_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"model_id": 3}')

    assert main(["codegen", "diff", str(broken), str(broken), "--store", str(tmp_path / "kg")]) == 1
    assert "not an interface description" in capsys.readouterr().err
