"""Replacements a person would sign, on the bundled example models registered as a user would:
an adapter is never a drop-in, every score shows its parts, and sizes are there at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.compat import lookups
from kg.compat.index import CompatIndex
from kg.compat.replacement import WEIGHTS
from kg.ingest.register import register
from kg.store import open_store

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "models"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CompatIndex:
    store = open_store(str(tmp_path_factory.mktemp("examples") / "store"))
    register([str(EXAMPLES)], store)  # no `modelkg reason`: ingest alone must be enough
    return CompatIndex.build(store)


def test_an_adapter_for_another_model_is_not_a_drop_in(index: CompatIndex) -> None:
    answers = lookups.replacements(index, "gpt2-style-lm")
    adapter = next(a for a in answers if a.model == "lora-adapter")

    assert adapter.case == "needs base"
    assert "needs base TinyLlama/TinyLlama-1.1B-Chat-v1.0" in adapter.reasons[0]
    assert not [a for a in answers if a.case == "replacement" and a.model == "lora-adapter"]


def test_drop_ins_come_before_adapters(index: CompatIndex) -> None:
    cases = [a.case for a in lookups.replacements(index, "gpt2-style-lm", limit=0)]
    assert cases == sorted(cases, key=lambda case: case == "needs base")


def test_sizes_are_known_right_after_ingest(index: CompatIndex) -> None:
    assert index.by_name["gpt2-style-lm"].parameters
    assert index.by_name["tiny-sentiment-classifier"].parameters


def test_the_weights_are_whole(index: CompatIndex) -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    for answer in lookups.replacements(index, "gpt2-style-lm", limit=0):
        assert answer.score == pytest.approx(sum(c.points for c in answer.components))
        assert answer.breakdown.startswith("size ")
