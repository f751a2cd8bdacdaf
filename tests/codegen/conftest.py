"""A registry holding the representative models code is generated for: a text classifier, an
embedding model, a text-generation LLM, an image classifier, an ASR model and CLIP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
