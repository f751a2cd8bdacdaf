"""Write a pip-installable package of typed functions (UDFs) for models in the graph.

The package is plain Python rendered from the Jinja2 templates beside this module: one module
per model, one function per task, typed by the model's interface description
(`codegen.interface`); `ruff` formats it when the generating environment has it. A package is
written whole or not at all: it is rendered into a temporary folder beside the target and moved
into place only when complete, so a failure leaves nothing half-written, and `force` replaces an
old package only then.

>>> import tempfile
>>> from kg.ingest.register import register
>>> from kg.store import open_store
>>> from codegen.interface import describe
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> _ = register(["examples/models/tiny-sentiment-classifier"], store, size=False)
>>> out = Path(tempfile.mkdtemp()) / "sentiment"
>>> package = write_package([describe(store, "tiny-sentiment-classifier")], out)
>>> package.name, package.exports
('tiny_sentiment_classifier_udf', ('classify', 'classify_batch', 'weights_folder'))
>>> sorted(p.name for p in (out / "src" / package.name).iterdir())
['__init__.py', '_weights.py', 'errors.py', 'py.typed', 'tiny_sentiment_classifier.py']
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from codegen.interface import Argument, Function, ModelInterface, python_name
from codegen.udf.calls import PIPELINE_CLASSES, macro_name
from kg.errors import CodegenError

__all__ = ["GeneratedPackage", "default_name", "write_package"]

TEMPLATES = Path(__file__).parent / "templates"
SEVERAL_MODELS_NAME = "modelkg_udf"
"""the package's name when it holds several models and none is given"""
RESERVED_MODULES = frozenset({"errors"})
"""modules every package has, so no model's (`_weights` cannot be one: no module starts with _)"""

_NEEDS = {
    "transformers": ("transformers", "torch"),
    "sentence-transformers": ("sentence-transformers", "torch", "numpy"),
    "Image": ("pillow",),
    "Audio": ("numpy",),
}
"""runtime or data kind -> the distributions a function with it needs"""

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
class GeneratedPackage:
    """A package `write_package` wrote: where, under which import name, what it exports."""

    name: str
    folder: Path
    modules: tuple[str, ...]
    exports: tuple[str, ...]


@dataclass(frozen=True)
class _Check:
    """A range check on an argument, made before the model is loaded."""

    name: str
    minimum: int | None
    maximum: int | None


@dataclass(frozen=True)
class _FunctionView:
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
    checks: tuple[_Check, ...]
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
        pairs = [f"{_literal(a.name)}: {_annotation(a)}" for a in self.function.arguments]
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
class _ModuleView:
    """What the templates need of one model's module, with every name already decided."""

    interface: ModelInterface
    package: str
    module: str
    variable: str
    ingested_from: str | None
    hub_id: str | None
    card: tuple[str, ...]
    functions: tuple[_FunctionView, ...]
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
        own: _Group = {"._weights": {"locate"}}
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


def default_name(interfaces: Sequence[ModelInterface]) -> str:
    """The import name of a package for `interfaces` when the caller gives none.

    >>> from codegen.interface import ModelInterface
    >>> default_name([ModelInterface.model_construct(module="gpt2")])
    'gpt2_udf'
    """
    if len(interfaces) == 1:
        return f"{python_name(interfaces[0].module).rstrip('_')}_udf"
    return SEVERAL_MODELS_NAME


def write_package(
    interfaces: Sequence[ModelInterface],
    out: Path,
    *,
    name: str | None = None,
    force: bool = False,
    progress: Callable[[ModelInterface], None] | None = None,
) -> GeneratedPackage:
    """Write a package of typed functions for `interfaces` into the folder `out`.

    `out` must not exist or be empty, unless `force`: then it is replaced once the new package
    is complete. `progress` is called after each model's module is rendered.
    """
    if not interfaces:
        raise CodegenError("no model to generate a package for", hint="name at least one model")
    package = name or default_name(interfaces)
    _check_package_name(package)
    out = out.absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise CodegenError(
            "the output folder exists and is not empty",
            path=str(out),
            hint="pass --force to replace it (the old one stays until the new one is complete), "
            "or choose another --out",
        )
    modules = [_module_view(i, package) for i in interfaces]
    _check_distinct(modules)
    exports = _exports(modules)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _render(staging, package, modules, exports, progress)
        _format(staging)
        _move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return GeneratedPackage(
        name=package,
        folder=out,
        modules=tuple(m.module for m in modules),
        exports=tuple(exports),
    )


def _check_package_name(package: str) -> None:
    if not package.isidentifier() or keyword.iskeyword(package) or package.startswith("_"):
        raise CodegenError(
            f"{package!r} cannot be a package's import name",
            field="--name",
            expected="a Python identifier that is not a keyword: letters, digits and _",
            hint=f"for example {re.sub(r'[^0-9a-zA-Z]+', '_', package).strip('_') or 'my_udf'}",
        )


def _module_view(interface: ModelInterface, package: str) -> _ModuleView:
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
    return _ModuleView(
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


def _check_distinct(modules: Sequence[_ModuleView]) -> None:
    owners: dict[str, str] = {}
    for view in modules:
        other = owners.setdefault(view.module, view.interface.model_id)
        if other != view.interface.model_id:
            raise CodegenError(
                f"model `{view.interface.model_id}`: its module name `{view.module}` is also "
                f"`{other}`'s",
                hint="generate one of them into a package of its own",
            )


def _function_view(interface: ModelInterface, function: Function) -> _FunctionView:
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
    return _FunctionView(
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
            _Check(a.name, a.minimum, a.maximum)
            for a in function.arguments
            if a.minimum is not None or a.maximum is not None
        ),
        batch=[a.kind for a in function.arguments] == ["Text"],
        samples=", ".join(
            _SAMPLES.get(a.kind or a.name, "") for a in function.arguments if a.required
        ),
    )


def _with_prefixed_labels(view: _FunctionView) -> _FunctionView:
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
    return f"{argument.name}: {_annotation(argument)} = {_literal(argument.default)}"


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
        facts.append(f"default {_literal(argument.default)}")
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


def _exports(modules: Sequence[_ModuleView]) -> list[str]:
    """The package's names: plain for one model, prefixed by the module for several."""
    if len(modules) == 1:
        return list(modules[0].exports)
    owners: dict[str, str] = {}
    for view in modules:
        for export in view.exports:
            name = f"{view.module}_{export}"
            if name in owners:
                raise CodegenError(
                    f"model `{view.interface.model_id}`: `{name}` is also a name of "
                    f"`{owners[name]}` in this package",
                    hint="generate one of them into a package of its own",
                )
            owners[name] = view.interface.model_id
    return list(owners)


def _reexports(modules: Sequence[_ModuleView]) -> list[tuple[str, list[str]]]:
    """(module, names as the package's `__init__` imports them), in the order isort keeps."""
    several = len(modules) > 1
    found = [("errors", ["OutputShapeError", "WeightsNotFoundError"])]
    for view in modules:
        names = [f"{n} as {view.module}_{n}" if several else n for n in view.exports]
        found.append((view.module, names))
    return sorted(found)


def _dependencies(modules: Sequence[_ModuleView]) -> list[str]:
    """Requirements with lower bounds at the versions installed here (unpinned above)."""
    needed = {"huggingface-hub"}
    for view in modules:
        for need in (*view.runtimes, *view.kinds):
            needed.update(_NEEDS.get(need, ()))
    return [_requirement(distribution) for distribution in sorted(needed)]


def _requirement(distribution: str) -> str:
    try:
        installed = version(distribution)
    except PackageNotFoundError:
        return distribution
    return f"{distribution}>={installed.split('+')[0]}"


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["docstring"] = _docstring
    environment.filters["py"] = _literal
    return environment


def _literal(value: object) -> str:
    """`value` as Python source, strings in double quotes (as ruff writes them).

    >>> print(_literal("it's"), _literal(64))
    "it's" 64
    """
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _docstring(text: str, indent: int = 0, width: int = 99) -> str:
    """`text` wrapped for a docstring at `indent`, with what would end it escaped."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    prefix = " " * indent
    return textwrap.fill(
        " ".join(text.split()),
        width=width,
        initial_indent=prefix,
        subsequent_indent=prefix,
        break_long_words=False,
        break_on_hyphens=False,
    ).lstrip()


def _render(
    folder: Path,
    package: str,
    modules: Sequence[_ModuleView],
    exports: Sequence[str],
    progress: Callable[[ModelInterface], None] | None,
) -> None:
    environment = _environment()
    source = folder / "src" / package
    tests = folder / "tests"
    source.mkdir(parents=True)
    tests.mkdir()
    context = {
        "package": package,
        "distribution": package.replace("_", "-"),
        "modules": modules,
        "exports": exports,
        "reexports": _reexports(modules),
        "several": len(modules) > 1,
        "dependencies": _dependencies(modules),
    }

    def write(template: str, target: Path, **extra: object) -> None:
        text = environment.get_template(template).render(**context, **extra)
        target.write_text(text, encoding="utf-8")

    write("pyproject.toml.j2", folder / "pyproject.toml")
    write("README.md.j2", folder / "README.md")
    write("__init__.py.j2", source / "__init__.py")
    write("errors.py.j2", source / "errors.py")
    write("_weights.py.j2", source / "_weights.py")
    (source / "py.typed").write_text("", encoding="utf-8")
    for view in modules:
        write("module.py.j2", source / f"{view.module}.py", view=view)
        write("test_module.py.j2", tests / f"test_{view.module}.py", view=view)
        if progress is not None:
            progress(view.interface)


def _format(folder: Path) -> None:
    """Sort imports and format with ruff, when the generating environment has it."""
    ruff = _ruff()
    if ruff is None:
        return
    for command in (["check", "--fix-only"], ["format"]):
        subprocess.run(
            [*ruff, *command, "--quiet", "--no-cache", "."],
            cwd=folder,
            check=True,
            capture_output=True,
        )


def _ruff() -> list[str] | None:
    """How to run ruff here, or None: the templates then stand as they are written."""
    if importlib.util.find_spec("ruff") is None:
        return None
    return [sys.executable, "-m", "ruff"]


def _move_into_place(staging: Path, out: Path) -> None:
    """Put the complete package at `out`; an old folder there is removed only afterwards."""
    if not out.exists():
        staging.rename(out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    try:
        out.rename(retired / out.name)
        try:
            staging.rename(out)
        except OSError:
            (retired / out.name).rename(out)
            raise
    finally:
        shutil.rmtree(retired)
