"""A developer turns models of the registry into a package of typed functions: installs it next
to the project's own packages, type-checks it strictly, runs its own tests, and calls a real
embedding model through it offline, getting what sentence-transformers gives; and a package is
written whole or not at all, never over a folder that holds something unless asked to."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy
import pytest
from syrupy.assertion import SnapshotAssertion

from codegen.interface import ModelInterface, describe, describe_many, python_name
from codegen.udf import GeneratedPackage, write_package
from codegen.udf import package as udf_package
from kg.errors import CodegenError
from kg.ingest.register import register
from kg.store import ModelStore, open_store
from resolvers.command import main
from tests.codegen.conftest import (
    BIN,
    EMBEDDER,
    LLM,
    REPRESENTATIVE,
    TEXT_CLASSIFIER,
    Venv,
    logged_calls,
)
from tests.conftest import CORPUS
from tests.resolvers.conftest import TOKEN

PACKAGE = "modelkg_udf"
MODULES = [python_name(model) for model in REPRESENTATIVE]
SOURCES = [
    "README.md",
    "pyproject.toml",
    f"src/{PACKAGE}/__init__.py",
    f"src/{PACKAGE}/_weights.py",
    f"src/{PACKAGE}/errors.py",
    *(f"src/{PACKAGE}/{module}.py" for module in MODULES),
    *(f"tests/test_{module}.py" for module in MODULES),
    "tests/test__weights.py",  # a model module never starts with _, so never collides
]


@pytest.fixture(scope="session")
def representative(
    registry: ModelStore, venv: Venv, tmp_path_factory: pytest.TempPathFactory
) -> GeneratedPackage:
    """One package for the six representative models, installed into `venv`."""
    package = write_package(
        describe_many(registry, list(REPRESENTATIVE)), tmp_path_factory.mktemp("pkg") / PACKAGE
    )
    venv.install(package)
    return package


@pytest.fixture
def embedder(registry: ModelStore) -> ModelInterface:
    return describe(registry, EMBEDDER)


def test_one_package_holds_a_module_and_typed_functions_per_model(
    representative: GeneratedPackage,
) -> None:
    files = sorted(
        path.relative_to(representative.folder).as_posix()
        for path in representative.folder.rglob("*")
        if path.is_file()
    )

    copied = f"src/{PACKAGE}/_call_log.py"  # codegen/runtime/call_log.py, tested there
    assert files == sorted([*SOURCES, f"src/{PACKAGE}/py.typed", copied])
    assert representative.modules == tuple(MODULES)
    assert "all_minilm_l6_v2_embed_batch" in representative.exports
    assert "gpt2_generate" in representative.exports


@pytest.mark.xdist_group("mypy")  # one worker checks both packages: the second reads the
# first's cache of torch, transformers and the rest (mypy's cache takes one writer at a time)
def test_the_installed_package_passes_mypy_strict_and_its_own_tests(
    representative: GeneratedPackage, venv: Venv, empty_hf_cache: str
) -> None:
    checked = subprocess.run(
        [
            str(BIN / "mypy"),
            "--strict",
            "--cache-dir",
            str(venv.mypy_cache),
            "--python-executable",
            str(venv.python),
            str(venv.site_packages / PACKAGE),
            "tests",
        ],
        cwd=representative.folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout

    tested = venv.run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-rs",
        cwd=representative.folder,
        HF_HUB_CACHE=empty_hf_cache,
    )
    assert tested.returncode == 0, tested.stdout
    assert re.search(r"\d+ passed, 8 skipped", tested.stdout)  # the calls of the models
    assert "MODELKG_UDF_GPT2_PATH: not set" in tested.stdout  # each skip says why


def test_the_generated_code_is_lint_clean_and_formatted(representative: GeneratedPackage) -> None:
    for command in (["check"], ["format", "--check"]):
        linted = subprocess.run(
            [str(BIN / "ruff"), *command, "--no-cache", "."],
            cwd=representative.folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout


def test_without_ruff_the_templates_alone_are_lint_clean(
    embedder: ModelInterface, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(udf_package, "_ruff", lambda: None)
    package = write_package([embedder], tmp_path / "out")

    linted = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "."],
        cwd=package.folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout


@pytest.mark.parametrize("source", SOURCES)
def test_the_generated_sources_match_their_snapshot(
    representative: GeneratedPackage, source: str, snapshot: SnapshotAssertion
) -> None:
    text = (representative.folder / source).read_text(encoding="utf-8")

    assert text.replace(str(CORPUS.absolute()), "<corpus>") == snapshot


def test_functions_are_typed_by_the_models_facts(representative: GeneratedPackage) -> None:
    source = representative.folder / "src" / PACKAGE
    embedder = (source / "all_minilm_l6_v2.py").read_text()
    classifier = (source / "bert_base_multilingual_uncased_sentiment.py").read_text()
    llm = (source / "gpt2.py").read_text()
    asr = (source / "whisper_base.py").read_text()

    assert "def embed(text: str) -> Embedding384:" in embedder
    assert "def embed_batch(texts: list[str]) -> list[Embedding384]:" in embedder
    assert '"1 star",\n    "2 stars",' in classifier
    assert "def generate(prompt: str, max_new_tokens: int = 64) -> str:" in llm
    assert "if not 1 <= max_new_tokens <= 1024:" in llm
    assert "(semantic name: samplingRate; at least 1;" in asr
    assert "License: apache-2.0." in embedder


# --- a real model, called through its package --------------------------------------------------


@pytest.fixture(scope="module")
def minilm_package(
    minilm_dir: Path, venv: Venv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GeneratedPackage]:
    """all-MiniLM-L6-v2 with its weights, registered, generated by the command, installed."""
    folder = tmp_path_factory.mktemp("minilm")
    with open_store(str(folder / "kg")) as store:
        register([str(minilm_dir)], store, hub_id=EMBEDDER)
        interface = describe(store, EMBEDDER)
        location = store.location
    assert interface.library == "sentence-transformers"
    assert [(f.name, f.runtime, f.result.dimension) for f in interface.functions] == [
        ("embed", "sentence-transformers", 384)
    ]

    out = folder / "package"
    assert main(["codegen", "udf", EMBEDDER, "--store", location, "--out", str(out)]) == 0
    package = GeneratedPackage("all_minilm_l6_v2_udf", out, ("all_minilm_l6_v2",), ("embed",))
    venv.install(package)
    yield package


def test_embed_runs_the_real_model_offline_and_matches_sentence_transformers(
    minilm_package: GeneratedPackage, minilm_dir: Path, venv: Venv, empty_hf_cache: str
) -> None:
    from sentence_transformers import SentenceTransformer

    text = "A knowledge graph of machine-learning models."
    called = venv.run(
        "-c",
        "import json, sys\n"
        "from all_minilm_l6_v2_udf import embed\n"
        "print(json.dumps(embed(sys.argv[1])))",
        text,
        HF_HUB_CACHE=empty_hf_cache,
    )

    assert called.returncode == 0, called.stderr
    answer = json.loads(called.stdout)
    assert len(answer) == 384 and all(isinstance(x, float) for x in answer)
    expected = SentenceTransformer(str(minilm_dir)).encode(text)
    assert numpy.allclose(answer, expected, atol=1e-6)


def test_log_calls_to_sends_each_call_to_the_registry(
    minilm_package: GeneratedPackage, venv: Venv, registry_url: str
) -> None:
    called = venv.run(
        "-c",
        "import sys\n"
        "from all_minilm_l6_v2_udf import embed, log_calls_to\n"
        "log_calls_to(sys.argv[1], token=sys.argv[2])\n"
        "embed('a logged call')",
        registry_url,
        TOKEN,
    )
    assert called.returncode == 0, called.stderr

    calls = logged_calls(registry_url)
    assert [(c["function"], c["arguments"]) for c in calls] == [
        ("embed", "text: str of 13 characters")
    ]


def test_on_a_machine_without_the_ingested_folder_the_hf_cache_serves(
    minilm_package: GeneratedPackage, minilm_dir: Path, venv: Venv, tmp_path: Path
) -> None:
    commit = "0" * 40
    entry = tmp_path / "hub" / f"models--{EMBEDDER.replace('/', '--')}"
    (entry / "refs").mkdir(parents=True)
    (entry / "refs" / "main").write_text(commit)
    (entry / "snapshots").mkdir()
    (entry / "snapshots" / commit).symlink_to(minilm_dir, target_is_directory=True)

    called = venv.run(
        "-c",
        "import all_minilm_l6_v2_udf.all_minilm_l6_v2 as model\n"
        "model.INGESTED_FROM = '/nowhere'  # as installed elsewhere\n"
        "print(model.weights_folder(), len(model.embed('hello')))",
        HF_HUB_CACHE=str(tmp_path / "hub"),
    )

    assert called.returncode == 0, called.stderr
    assert called.stdout.split() == [str(entry / "snapshots" / commit), "384"]


def test_weights_missing_from_the_named_folder_raise_the_packages_error(
    minilm_package: GeneratedPackage, venv: Venv, empty_hf_cache: str, tmp_path: Path
) -> None:
    called = venv.run(
        "-c",
        "from all_minilm_l6_v2_udf import embed\nembed('hello')",
        HF_HUB_CACHE=empty_hf_cache,
        ALL_MINILM_L6_V2_UDF_ALL_MINILM_L6_V2_PATH=str(tmp_path),
    )

    assert called.returncode == 1
    complaint = called.stderr.strip().splitlines()
    assert complaint[-3:] == [
        "all_minilm_l6_v2_udf.errors.WeightsNotFoundError: the weights of "
        f"{EMBEDDER} are not on this machine; looked in:",
        f"  - {tmp_path} ($ALL_MINILM_L6_V2_UDF_ALL_MINILM_L6_V2_PATH): no weights file "
        "(*.safetensors or pytorch_model*.bin)",
        "Point ALL_MINILM_L6_V2_UDF_ALL_MINILM_L6_V2_PATH at a folder holding the model's "
        "config and weights, or unset it to look in the other places.",
    ]


# --- written whole or not at all ---------------------------------------------------------------


@pytest.fixture
def occupied(tmp_path: Path) -> Path:
    """An output folder that already holds someone's work."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    return out


def test_a_folder_that_is_not_empty_is_refused_and_left_untouched(
    registry: ModelStore, occupied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["codegen", "udf", EMBEDDER, "--store", registry.location, "--out", str(occupied)]

    assert main(argv) == 1
    assert "pass --force" in capsys.readouterr().err
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]
    assert [p.name for p in occupied.parent.iterdir()] == ["out"]


def test_force_replaces_the_folder_with_the_complete_package(
    registry: ModelStore, occupied: Path
) -> None:
    argv = ["codegen", "udf", EMBEDDER, "--store", registry.location, "--out", str(occupied)]

    assert main([*argv, "--force"]) == 0
    assert not (occupied / "notes.txt").exists()
    assert (occupied / "src" / "all_minilm_l6_v2_udf" / "all_minilm_l6_v2.py").is_file()
    assert [p.name for p in occupied.parent.iterdir()] == ["out"]


def test_a_failure_mid_generation_leaves_no_folder_and_the_old_one_intact(
    embedder: ModelInterface, occupied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(udf_package, "_format", broken)

    with pytest.raises(OSError, match="disk full"):
        write_package([embedder], tmp_path / "fresh")
    with pytest.raises(OSError, match="disk full"):
        write_package([embedder], occupied, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            {"model_id": "someone-else/all-MiniLM-L6-v2"},
            "model `someone-else/all-MiniLM-L6-v2`: its module name `all_minilm_l6_v2` is also "
            f"`{EMBEDDER}`'s",
        ),
        ({"module": "errors"}, f"model `{EMBEDDER}`: its module name `errors` is taken"),
    ],
)
def test_a_module_name_that_cannot_be_is_refused_naming_the_model(
    embedder: ModelInterface, change: dict[str, str], complaint: str, tmp_path: Path
) -> None:
    with pytest.raises(CodegenError) as caught:
        write_package([embedder, embedder.model_copy(update=change)], tmp_path / "out")

    assert complaint in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_module_name_that_is_a_keyword_is_made_valid(
    embedder: ModelInterface, tmp_path: Path
) -> None:
    package = write_package([embedder.model_copy(update={"module": "class"})], tmp_path / "out")

    assert (package.name, package.modules) == ("class_udf", ("class_",))
    assert (package.folder / "src" / "class_udf" / "class_.py").is_file()


def test_a_package_name_must_be_an_identifier(embedder: ModelInterface, tmp_path: Path) -> None:
    with pytest.raises(CodegenError, match="'my-udfs' cannot be a package's import name"):
        write_package([embedder], tmp_path / "out", name="my-udfs")


def test_a_task_with_no_template_is_refused_naming_the_model(
    registry: ModelStore, tmp_path: Path
) -> None:
    llm = describe(registry, LLM)
    generate = llm.functions[0].model_copy(update={"pipeline_task": "text2text-generation"})

    with pytest.raises(CodegenError, match="`openai-community/gpt2`: task `text-generation`"):
        write_package([llm.model_copy(update={"functions": (generate,)})], tmp_path / "out")


def test_the_command_explains_itself_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["codegen", "udf", "--help"]) == 0
    assert "modelkg codegen udf sentence-transformers/all-MiniLM-L6-v2 --out" in (
        capsys.readouterr().out
    )


def test_one_model_gets_plain_names(registry: ModelStore, tmp_path: Path) -> None:
    package = write_package([describe(registry, TEXT_CLASSIFIER)], tmp_path / "out")

    assert package.name == "bert_base_multilingual_uncased_sentiment_udf"
    assert package.exports == ("classify", "classify_batch", "weights_folder")
