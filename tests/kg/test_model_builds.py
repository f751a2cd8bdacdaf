"""Counting builds models for their shapes only; real models still get their initial weights."""

from __future__ import annotations

import json
import threading

import pytest
import torch
import transformers

from kg.compat.size import count_parameters
from kg.model_builds import MODEL_BUILDS, shapes_only
from tests.conftest import corpus_folder

TIED_AND_UNTIED = ["openai-community/gpt2", "google-t5/t5-small", "google-bert/bert-base-uncased"]


def _built_with_initializers(config: dict[str, object]) -> int:
    """The count the slow way: the named class built on the meta device, weights drawn."""
    model_config = transformers.AutoConfig.for_model(**config)
    cls = getattr(transformers, str(config["architectures"][0]))  # type: ignore[index]
    with torch.device("meta"):
        model = cls(model_config)
    return sum(int(p.numel()) for p in model.parameters())


@pytest.mark.parametrize("hub_id", TIED_AND_UNTIED)
def test_a_count_is_the_same_as_with_weights_drawn(hub_id: str) -> None:
    path = corpus_folder(hub_id) / "config.json"
    if not path.exists():
        pytest.skip(f"{hub_id} is not in the shared corpus")
    config = json.loads(path.read_text())
    assert count_parameters(config).value == _built_with_initializers(config)


def test_real_models_get_initial_weights_after_a_count() -> None:
    with shapes_only():
        skipped = torch.nn.init.normal_(torch.zeros(1000))
    drawn = torch.nn.init.normal_(torch.zeros(1000))
    assert skipped.abs().sum() == 0
    assert drawn.abs().sum() > 0


def test_an_error_inside_restores_the_initializers() -> None:
    original = torch.nn.init.kaiming_uniform_
    with pytest.raises(RuntimeError), shapes_only():
        raise RuntimeError("a build failed")
    assert torch.nn.init.kaiming_uniform_ is original


def test_a_real_model_build_waits_for_a_count_in_another_thread() -> None:
    inside, release, loaded = threading.Event(), threading.Event(), threading.Event()

    def count() -> None:
        with shapes_only():
            inside.set()
            release.wait(10)

    def load() -> None:
        with MODEL_BUILDS:
            loaded.set()

    counting = threading.Thread(target=count)
    counting.start()
    inside.wait(10)
    loading = threading.Thread(target=load)
    loading.start()
    assert not loaded.wait(0.2)  # the load waits while weights would not be drawn
    release.set()
    assert loaded.wait(10)
    counting.join()
    loading.join()
