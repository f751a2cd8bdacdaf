"""What the templates see of a model: its module and functions, with every name decided.

The interface description (`codegen.interface`) says what a model can do; a view adds what a
package needs to spell it in Python: the module's name and imports, each function's signature,
its loader, the name of its label type, its range checks, and the values its tests call it with.
Templates only print these; no decision is left to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from codegen.interface import Argument, Function, ModelInterface, python_name
from codegen.udf.calls import PIPELINE_CLASSES, macro_name
from kg.errors import CodegenError

__all__ = ["Check", "FunctionView", "ModuleView", "module_view", "python_literal"]

RESERVED_MODULES = frozenset({"errors"})
"""modules every package has, so no model's (`_weights` cannot be one: no module starts with _)"""

_SAMPLES = {
    "Text": '"The battery lasts two full days and the screen is sharp."',
    "Image": 'Image.new("RGB", (224, 224), "white")',
    "Audio": "numpy.zeros(16000, dtype=numpy.float32)",
    "candidate_labels": '["a photo of a cat", "a photo of a dog"]',
}
"""an argument's kind (or name) -> a value the package's own tests call the model with"""

_KIND_WORDS = {
    "Text": "The text.",
    "Image": "The image.",
    "Audio": "The audio: mono samples in [-1, 1].",
}
"""what an argument of a data kind is, when the ontology says nothing more"""

_SHORT_TYPES = {
    "PIL.Image.Image": "Image.Image",
    "numpy.typing.NDArray[numpy.float32]": "NDArray[numpy.float32]",
}
"""a data kind's Python type -> how a generated module spells it with its imports"""


@dataclass(frozen=True)
class Check:
    """A range check on an argument, made before the model is loaded."""

    name: str
    minimum: int | None
    maximum: int | None


@dataclass(frozen=True)
class FunctionView:
    """What the templates need of one function, with every name already decided."""

    function: Function
    signature: str
    result_type: str
    loader: str
    loader_type: str
    macro: str
    label_type: str | None
    label_check: str | None
    labels: tuple[str, ...]
    checks: tuple[Check, ...]
    batch: bool
    samples: str

    @property
    def arguments(self) -> tuple[Argument, ...]:
        return self.function.arguments

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(a.kind for a in self.function.arguments if a.kind)

    @property
    def hints(self) -> str:
        """The function's annotations as `typing.get_type_hints` gives them, as Python."""
        pairs = [f"{python_literal(a.name)}: {_annotation(a)}" for a in self.function.arguments]
        return "{" + ", ".join([*pairs, f'"return": {self.result_type}']) + "}"

    @property
    def argument_docs(self) -> tuple[str, ...]:
        """One line per argument: what it is, its semantic name, range and default."""
        return tuple(_argument_doc(a) for a in self.function.arguments)

    @property
    def out_of_range(self) -> tuple[tuple[str, int, str], ...]:
        """(argument, a value just outside its range, `below` or `above`) for the tests."""
        cases = []
        for check in self.checks:
            if check.minimum is not None:
                cases.append((check.name, check.minimum - 1, "below"))
            if check.maximum is not None:
                cases.append((check.name, check.maximum + 1, "above"))
        return tuple(cases)

    @property
    def choices(self) -> str | None:
        """The candidate labels the tests pass, which the answer must be one of."""
        return (
            _SAMPLES["candidate_labels"] if self.arguments[-1].name == "candidate_labels" else None
        )


@dataclass(frozen=True)
class ModuleView:
    """What the templates need of one model's module, with every name already decided."""

    interface: ModelInterface
    package: str
    module: str
    variable: str
    ingested_from: str | None
    hub_id: str | None
    card: tuple[str, ...]
    functions: tuple[FunctionView, ...]
    embedding_type: str | None
    dimension: int | None
    runtimes: frozenset[str]
    kinds: frozenset[str]

    @property
    def exports(self) -> tuple[str, ...]:
        """The functions the package re-exports."""
        names = [
            name
            for view in self.functions
            for name in (view.function.name, f"{view.function.name}_batch" if view.batch else "")
            if name
        ]
        return (*names, "weights_folder")

    @property
    def loading_note(self) -> str:
        places = [f"the folder `${self.variable}` names"]
        if self.ingested_from:
            places.append("the folder the model was ingested from")
        places.append("the local HuggingFace cache")
        return (
            "The weights are loaded once per process, never downloaded, from the first of: "
            + ", ".join(places)
            + "."
        )

    @property
    def all(self) -> tuple[str, ...]:
        """The module's `__all__`: its constants, types and functions."""
        types = [self.embedding_type] if self.embedding_type else []
        types += [v.label_type for v in self.functions if v.label_type]
        constants = ["DIMENSION"] if self.embedding_type else []
        return tuple(sorted({"MODEL", "PATH_VARIABLE", *constants, *types, *self.exports}))

    @property
    def imports(self) -> list[list[str]]:
        """The module's imports after `__future__`'s: standard library, third party, own."""
        standard: _Group = {"functools": {"cache"}, "pathlib": {"Path"}}
        third_party: _Group = {}
        own: _Group = {"._weights": {"locate"}, "._call_log": {"logged"}}
        typing: set[str] = set()
        if self.embedding_type or "Audio" in self.kinds:
            third_party |= {"numpy": set(), "numpy.typing": {"NDArray"}}
        if self.embedding_type:
            typing.add("NewType")
        if any(v.labels for v in self.functions):
            typing |= {"Literal", "cast", "get_args"}
        if "Audio" in self.kinds:
            typing.add("cast")
        if "Image" in self.kinds:
            third_party["PIL"] = {"Image"}
        if "sentence-transformers" in self.runtimes:
            third_party["sentence_transformers"] = {"SentenceTransformer"}
        pipelines = {v.loader_type for v in self.functions if v.loader_type.endswith("Pipeline")}
        if pipelines:
            third_party["transformers"] = {*pipelines, "pipeline"}
        if typing:
            standard["typing"] = typing
        if self.embedding_type or any(v.labels for v in self.functions):
            own[".errors"] = {"OutputShapeError"}
        return [_import_lines(group) for group in (standard, third_party, own)]

    @property
    def test_imports(self) -> list[list[str]]:
        """The imports of the module's tests, in the same three groups."""
        labelled = [v for v in self.functions if v.labels]
        standard: _Group = {"pathlib": {"Path"}, "typing": {"get_type_hints"}}
        if any(not a.required for v in self.functions for a in v.arguments):
            standard["inspect"] = set()
        if labelled:
            standard["typing"].add("get_args")
        third_party: _Group = {"pytest": set()}
        if self.embedding_type or "Audio" in self.kinds:
            third_party |= {"numpy": set(), "numpy.typing": {"NDArray"}}
        if "Image" in self.kinds:
            third_party["PIL"] = {"Image"}
        names = {n for n in self.exports if n != "weights_folder"}
        names |= {self.embedding_type} if self.embedding_type else set()
        names |= {v.label_type for v in labelled if v.label_type}
        own: _Group = {
            self.package: {self.module},
            f"{self.package}.errors": {"WeightsNotFoundError"},
            f"{self.package}.{self.module}": names,
        }
        if self.embedding_type or labelled:
            own[f"{self.package}.errors"].add("OutputShapeError")
        return [_import_lines(group) for group in (standard, third_party, own)]


_Group = dict[str, set[str]]
"""imports of one section: module -> the names imported from it (none: `import module`)"""


def _import_lines(group: _Group) -> list[str]:
    """A section's import statements in the order isort (ruff's `I` rules) keeps them.

    >>> _import_lines({"typing": {"cast", "Literal"}, "numpy": set(), "PIL": {"Image"}})
    ['import numpy', 'from PIL import Image', 'from typing import Literal, cast']
    """

    def by_type(name: str) -> tuple[int, str]:
        return (0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2, name)

    plain = sorted((m for m, names in group.items() if not names), key=str.lower)
    froms = sorted((m for m, names in group.items() if names), key=str.lower)
    return [f"import {m}" for m in plain] + [
        f"from {m} import {', '.join(sorted(group[m], key=by_type))}" for m in froms
    ]


def module_view(interface: ModelInterface, package: str) -> ModuleView:
    """The view of `interface`'s module in `package`; `CodegenError` names the model when a
    task of its has no template or its module's name is taken.

    >>> import tempfile
    >>> from codegen.interface import describe
    >>> from kg.ingest.register import register
    >>> from kg.store import open_store
    >>> store = open_store(tempfile.mkdtemp() + "/kg")
    >>> _ = register(["examples/models/tiny-sentiment-classifier"], store, size=False)
    >>> view = module_view(describe(store, "tiny-sentiment-classifier"), "sentiment")
    >>> view.variable, view.functions[0].signature, view.functions[0].result_type
    ('SENTIMENT_TINY_SENTIMENT_CLASSIFIER_PATH', 'text: str', 'Label')
    """
    module = python_name(interface.module)  # a saved description may carry any name
    if module in RESERVED_MODULES:
        raise CodegenError(
            f"model `{interface.model_id}`: its module name `{module}` is taken in package "
            f"`{package}`",
            hint="give the package another --name, or generate this model into a package of "
            "its own",
        )
    views = tuple(_function_view(interface, f) for f in interface.functions)
    labelled = [v for v in views if v.labels]
    if len(labelled) > 1:
        views = tuple(_with_prefixed_labels(v) for v in views)
    embedding = next((f.result for f in interface.functions if f.result.kind == "Embedding"), None)
    location = _ingested_from(interface.source_location)
    return ModuleView(
        interface=interface,
        package=package,
        module=module,
        variable=f"{package}_{module}_PATH".upper(),
        ingested_from=str(location) if location else None,
        hub_id=interface.model_id if "/" in interface.model_id else None,
        card=_card(interface),
        functions=views,
        embedding_type=f"Embedding{embedding.dimension}" if embedding else None,
        dimension=embedding.dimension if embedding else None,
        runtimes=frozenset(f.runtime for f in interface.functions),
        kinds=frozenset(a.kind for f in interface.functions for a in f.arguments if a.kind),
    )


def _function_view(interface: ModelInterface, function: Function) -> FunctionView:
    if function.runtime == "sentence-transformers":
        loader_type, macro = "SentenceTransformer", "sentence_transformers"
    elif function.pipeline_task in PIPELINE_CLASSES:
        loader_type, macro = (
            PIPELINE_CLASSES[function.pipeline_task],
            macro_name(function.pipeline_task),
        )
    else:
        raise CodegenError(
            f"model `{interface.model_id}`: task `{function.task}` has no UDF template (its "
            f"pipeline `{function.pipeline_task}` is not one this generator calls)",
            hint=f"pipelines it calls: {', '.join(sorted(PIPELINE_CLASSES))}",
        )
    labels = tuple(dict.fromkeys(function.result.labels))
    if function.result.kind == "Embedding":
        result_type = f"Embedding{function.result.dimension}"
    else:
        result_type = "Label" if labels else function.result.python_type
    return FunctionView(
        function=function,
        signature=", ".join(_parameter(a) for a in function.arguments),
        result_type=result_type,
        loader=f"_{function.name}_model",
        loader_type=loader_type,
        macro=macro,
        label_type="Label" if labels else None,
        label_check="_label" if labels else None,
        labels=labels,
        checks=tuple(
            Check(a.name, a.minimum, a.maximum)
            for a in function.arguments
            if a.minimum is not None or a.maximum is not None
        ),
        batch=[a.kind for a in function.arguments] == ["Text"],
        samples=", ".join(
            _SAMPLES.get(a.kind or a.name, "") for a in function.arguments if a.required
        ),
    )


def _with_prefixed_labels(view: FunctionView) -> FunctionView:
    """Several label sets in one module: each named after its function (`ClassifyLabel`)."""
    if not view.labels:
        return view
    pascal = "".join(part.title() for part in view.function.name.split("_"))
    return replace(
        view,
        result_type=f"{pascal}Label",
        label_type=f"{pascal}Label",
        label_check=f"_{view.function.name}_label",
    )


def _annotation(argument: Argument) -> str:
    """The argument's type as the module spells it (its imports are `from` imports)."""
    return _SHORT_TYPES.get(argument.python_type, argument.python_type)


def _parameter(argument: Argument) -> str:
    if argument.required:
        return f"{argument.name}: {_annotation(argument)}"
    return f"{argument.name}: {_annotation(argument)} = {python_literal(argument.default)}"


def _argument_doc(argument: Argument) -> str:
    words = argument.description or _KIND_WORDS.get(argument.kind or "", "")
    facts = []
    if argument.semantic_name:
        facts.append(f"semantic name: {argument.semantic_name}")
    if argument.minimum is not None and argument.maximum is not None:
        facts.append(f"from {argument.minimum} to {argument.maximum}")
    elif argument.minimum is not None:
        facts.append(f"at least {argument.minimum}")
    if not argument.required:
        facts.append(f"default {python_literal(argument.default)}")
    return f"{argument.name}: {words}" + (f" ({'; '.join(facts)})" if facts else "")


def _ingested_from(location: str | None) -> Path | None:
    """The ingested folder as an absolute path, if it is on this machine now."""
    if location is None:
        return None
    folder = Path(location).expanduser().absolute()
    return folder if folder.is_dir() else None


def _card(interface: ModelInterface) -> tuple[str, ...]:
    paragraphs = [interface.summary]
    if interface.intended_use:
        paragraphs.append(f"Intended use: {interface.intended_use}")
    if interface.limitations:
        paragraphs.append(f"Limitations: {interface.limitations}")
    paragraphs.append(f"License: {interface.license or 'not stated on the card'}.")
    return tuple(paragraphs)


def python_literal(value: object) -> str:
    """`value` as Python source, strings in double quotes (as ruff writes them).

    >>> print(python_literal("it's"), python_literal(64))
    "it's" 64
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
