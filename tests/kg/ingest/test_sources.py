"""A user names what to ingest the way it sits on their disk: one config.json, a model folder, a
folder of model folders, or a hub id; `discover` turns each into model sources, and says plainly
when a name leads nowhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

from kg.errors import InputError, SourceNotFoundError
from kg.ingest.sources import discover, discover_all, is_hub_id
from tests.conftest import CORPUS, corpus_folder
from tests.kg.ingest.conftest import hub_id_of, index_rows


def write_config(folder: Path, **config: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps({"model_type": "bert", **config}), encoding="utf-8")
    return path


def test_a_lone_config_file_is_one_config_file_source(tmp_path: Path) -> None:
    config = write_config(tmp_path / "downloads")

    found = discover(str(config))

    assert found.problems == []
    [source] = found.sources
    assert source.kind == "config-file"
    assert source.files == {"config.json": config}
    assert source.hub_id is None
    assert source.display == str(config)


def test_a_lone_config_file_takes_the_hub_id_it_is_given(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    [source] = discover(str(config), hub_id="me/tiny").sources

    assert (source.hub_id, source.hub_id_origin, source.display) == (
        "me/tiny",
        "--hub-id",
        "me/tiny",
    )


def test_a_corpus_model_folder_is_named_by_its_provenance(corpus: Path) -> None:
    folder = corpus_folder("sentence-transformers/all-MiniLM-L6-v2")
    provenance = json.loads((folder / "PROVENANCE.json").read_text(encoding="utf-8"))

    [source] = discover(str(folder)).sources

    assert source.kind == "model-folder"
    assert source.hub_id == provenance["hub_id"]
    assert source.hub_id_origin == "PROVENANCE.json"
    commits = {f["commit"] for f in provenance["files"].values()}
    assert source.revision == commits.pop()
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(source.files) == on_disk - {"PROVENANCE.json"}
    assert "1_Pooling/config.json" in source.files


def test_a_hub_id_given_for_a_folder_beats_its_provenance(corpus: Path) -> None:
    folder = corpus_folder("openai-community/gpt2")

    [source] = discover(str(folder), hub_id="me/my-gpt2").sources

    assert (source.hub_id, source.hub_id_origin) == ("me/my-gpt2", "--hub-id")


@pytest.mark.parametrize(
    "marker",
    ["config.json", "adapter_config.json", "modules.json"],
    ids=["config", "adapter", "modules"],
)
def test_any_model_marker_makes_a_model_folder(tmp_path: Path, marker: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / marker).write_text("[]" if marker == "modules.json" else "{}", encoding="utf-8")

    [source] = discover(str(folder)).sources

    assert source.kind == "model-folder"
    assert source.location == folder
    assert marker in source.files


def test_a_folder_of_model_folders_is_every_model_in_it(corpus: Path) -> None:
    found = discover(str(corpus))

    assert found.problems == []
    assert all(source.kind == "model-folder" for source in found.sources)
    assert sorted(s.hub_id or "" for s in found.sources) == sorted(
        row["hub_id"] for row in index_rows()
    )
    assert len(found.sources) == len([f for f in corpus.iterdir() if f.is_dir()])


def test_model_folders_are_found_below_org_folders(tmp_path: Path) -> None:
    write_config(tmp_path / "models" / "acme" / "small")
    write_config(tmp_path / "models" / "acme" / "large")
    write_config(tmp_path / "models" / "other" / "base")
    (tmp_path / "models" / "notes").mkdir()

    found = discover(str(tmp_path / "models"))

    assert found.problems == []
    assert sorted(
        s.location.relative_to(tmp_path / "models").as_posix() for s in found.sources
    ) == [
        "acme/large",
        "acme/small",
        "other/base",
    ]


def test_discover_all_keeps_the_order_of_the_arguments(corpus: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path)

    found = discover_all([str(corpus_folder("openai-community/gpt2")), str(config)])

    assert [s.kind for s in found.sources] == ["model-folder", "config-file"]


def test_a_nonexistent_path_is_a_problem_that_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "config.json"

    found = discover(str(missing))

    assert found.sources == []
    [(name, error)] = found.problems
    assert name == str(missing)
    assert isinstance(error, SourceNotFoundError)
    assert isinstance(error, FileNotFoundError)
    assert isinstance(error, InputError)
    assert str(missing) in str(error)


def test_a_folder_with_no_model_in_it_is_a_problem_that_names_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "docs").mkdir(parents=True)

    [(_, error)] = discover(str(empty)).problems

    assert isinstance(error, SourceNotFoundError)
    assert str(empty) in str(error)


def test_a_broken_symlink_is_a_problem_that_names_it(tmp_path: Path) -> None:
    link = tmp_path / "config.json"
    link.symlink_to(tmp_path / "gone.json")

    [(_, error)] = discover(str(link)).problems

    assert isinstance(error, SourceNotFoundError)
    assert str(link) in str(error)


def test_every_corpus_folder_names_a_hub_id(corpus: Path) -> None:
    for folder in sorted(f for f in CORPUS.iterdir() if f.is_dir()):
        assert is_hub_id(hub_id_of(folder)), folder.name


def _hub_accepts(text: str) -> bool:
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "text",
    [
        "gpt2",
        "openai-community/gpt2",
        "sentence-transformers/all-MiniLM-L6-v2",
        "01-ai/Yi-1.5-6B",
        "TheBloke/Llama-2-13B-chat-GPTQ",
        "YouriLalain/2PRYMMAL-Yi1.5-6B-SLERP",
        "dunzhang/stella_en_1.5B_v5",
        "a/b/c",
        "datasets/foo/bar",
        "",
        "/abs/path",
        "./local/model",
        "../model",
        "org/",
        "/name",
        "org name/model",
        "https://huggingface.co/org/name",
        ".repo_id",
        "other..repo..id",
        "foo--bar",
        "org/name.git",
    ],
)
def test_is_hub_id_agrees_with_huggingface_hub(text: str) -> None:
    assert is_hub_id(text) == _hub_accepts(text)


@pytest.mark.parametrize(
    ("hub_id", "says"),
    [
        ("../../etc", "namespace/repo_name"),
        ("a b/c", "alphanumeric chars"),
        (42, "42, a JSON number"),
        (["org/name"], "a JSON array"),
    ],
    ids=["climbs-out", "space", "number", "list"],
)
def test_a_provenance_hub_id_that_is_no_hub_id_is_a_problem_not_a_hash_named_model(
    tmp_path: Path, hub_id: object, says: str
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "PROVENANCE.json").write_text(json.dumps({"hub_id": hub_id}))

    found = discover(str(folder))

    assert found.sources == []
    [(name, error)] = found.problems
    assert name == str(folder)
    assert (error.path, error.field) == (str(folder / "PROVENANCE.json"), "hub_id")
    assert says in str(error)
    assert error.expected is not None and "openai-community/gpt2" in error.expected


def test_a_hub_id_flag_that_is_no_hub_id_is_a_usage_error(tmp_path: Path) -> None:
    from kg.errors import UsageError

    with pytest.raises(UsageError) as caught:
        discover_all([str(tmp_path)], hub_id="org/../x")

    assert caught.value.field == "--hub-id"
    assert '`--hub-id` is "org/../x"' in str(caught.value)


def test_confining_to_a_root_refuses_files_that_link_out_and_keeps_links_within(
    tmp_path: Path,
) -> None:
    from kg.ingest.sources import confine

    root = tmp_path / "served"
    blobs = root / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "abc").write_text('{"model_type": "bert"}')
    inside = root / "inside"
    inside.mkdir()
    (inside / "config.json").symlink_to(blobs / "abc")  # as a HF cache snapshot links
    secret = tmp_path / "secret.txt"
    secret.write_text("---\nlicense: mine\n---\nthe password\n")
    leaking = root / "leaking"
    leaking.mkdir()
    (leaking / "config.json").write_text('{"model_type": "bert"}')
    (leaking / "README.md").symlink_to(secret)

    found = confine(discover_all([str(inside), str(leaking)]), [root])

    assert [s.location for s in found.sources] == [inside]
    [(name, error)] = found.problems
    assert name == str(leaking)
    assert error.path == str(leaking / "README.md")
    assert f"links outside the folders allowed here, to {secret}" in str(error)
