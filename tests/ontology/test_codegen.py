"""ontology/codegen.ttl binds tasks to functions: every binding names a real task, a runtime
code knows, a result and arguments with types, and names Python can use."""

from __future__ import annotations

import keyword

import pytest

from codegen.interface import data_kinds, task_bindings
from ontology.files import TASKS_FILE

TASK_IDS = {
    line.split('"')[1]
    for line in TASKS_FILE.read_text(encoding="utf-8").splitlines()
    if "mkg:taskId" in line and '"' in line
}


@pytest.mark.parametrize("task", sorted(task_bindings()))
def test_every_binding_is_complete_and_callable_from_python(task: str) -> None:
    binding = task_bindings()[task]
    kinds = data_kinds()

    assert task in TASK_IDS
    assert binding.function.isidentifier() and not keyword.iskeyword(binding.function)
    assert binding.result_kind in kinds
    assert binding.runtime == "sentence-transformers" or binding.pipeline_task
    assert [a.order for a in binding.arguments] == list(range(1, len(binding.arguments) + 1))
    for argument in binding.arguments:
        assert argument.name.isidentifier() and not keyword.iskeyword(argument.name)
        assert argument.kind in kinds if argument.kind else argument.python_type
        assert argument.kind or argument.json_type


def test_the_tasks_of_the_representative_models_are_bound() -> None:
    assert {
        "text-classification",
        "feature-extraction",
        "sentence-similarity",
        "text-generation",
        "image-classification",
        "automatic-speech-recognition",
        "zero-shot-image-classification",
    } <= set(task_bindings())


def test_every_bound_pipeline_is_one_a_generated_package_can_run() -> None:
    from codegen.udf.calls import PIPELINE_CLASSES

    pipelines = {b.pipeline_task for b in task_bindings().values() if b.runtime == "transformers"}

    assert pipelines <= set(PIPELINE_CLASSES)
