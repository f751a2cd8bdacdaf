"""How a generated function calls each transformers pipeline, and what it is typed as.

A pipeline takes its inputs and returns its answer in its own shape (a list of label dicts, a
dict with `text`, ...); the snippets that handle each shape live in `templates/calls.py.j2`,
one macro per pipeline task. This table names the pipeline class each loader returns, and so
lists the tasks a package can be generated for.

>>> PIPELINE_CLASSES["text-classification"]
'TextClassificationPipeline'
"""

from __future__ import annotations

__all__ = ["PIPELINE_CLASSES", "macro_name"]

PIPELINE_CLASSES = {
    "text-classification": "TextClassificationPipeline",
    "text-generation": "TextGenerationPipeline",
    "image-classification": "ImageClassificationPipeline",
    "zero-shot-image-classification": "ZeroShotImageClassificationPipeline",
    "automatic-speech-recognition": "AutomaticSpeechRecognitionPipeline",
}
"""transformers' pipeline task -> the class `pipeline(task, ...)` returns (transformers 5)."""


def macro_name(pipeline_task: str) -> str:
    """The macro of `templates/calls.py.j2` that calls `pipeline_task`.

    >>> macro_name("automatic-speech-recognition")
    'automatic_speech_recognition'
    """
    return pipeline_task.replace("-", "_")
