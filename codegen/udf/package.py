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
>>> sorted(p.name for p in (out / "src" / package.name).iterdir())  # doctest: +NORMALIZE_WHITESPACE
['__init__.py', '_call_log.py', '_weights.py', 'errors.py', 'py.typed',
 'tiny_sentiment_classifier.py']
"""

from __future__ import annotations

import importlib.util
import keyword
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from codegen.interface import ModelInterface, python_name
from codegen.udf.views import ModuleView, module_view, python_literal
from kg.errors import CodegenError
from kg.iris import IriMinter

__all__ = ["GeneratedPackage", "default_name", "write_package"]

TEMPLATES = Path(__file__).parent / "templates"
CALL_LOG = Path(__file__).parents[1] / "runtime" / "call_log.py"
"""copied into every package: each call logged to a registry, when asked (MODELKG_CALL_LOG)"""
SEVERAL_MODELS_NAME = "modelkg_udf"
"""the package's name when it holds several models and none is given"""

_NEEDS = {
    "transformers": ("transformers", "torch"),
    "sentence-transformers": ("sentence-transformers", "torch", "numpy"),
    "Image": ("pillow",),
    "Audio": ("numpy",),
}
"""runtime or data kind -> the distributions a function with it needs"""


@dataclass(frozen=True)
class GeneratedPackage:
    """A package `write_package` wrote: where, under which import name, what it exports."""

    name: str
    folder: Path
    modules: tuple[str, ...]
    exports: tuple[str, ...]


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
    extra_files: Mapping[str, str] | None = None,
    extra_dependencies: Sequence[str] = (),
    scripts: Mapping[str, str] | None = None,
) -> GeneratedPackage:
    """Write a package of typed functions for `interfaces` into the folder `out`.

    `out` must not exist or be empty, unless `force`: then it is replaced once the new package
    is complete. `progress` is called after each model's module is rendered. What builds on a
    package (`codegen.mcp_package`) adds `extra_files` (name -> text, beside the modules),
    `extra_dependencies` and console `scripts` (name -> `module:function`).
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
    modules = [module_view(i, package) for i in interfaces]
    _check_distinct(modules)
    exports = _exports(modules)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _render(
            staging,
            package,
            modules,
            exports,
            progress,
            extras=_Extras(extra_files or {}, tuple(extra_dependencies), scripts or {}),
        )
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
            hint=f"for example {python_name(package).rstrip('_')}_udf",
        )


def _check_distinct(modules: Sequence[ModuleView]) -> None:
    owners: dict[str, str] = {}
    for view in modules:
        other = owners.setdefault(view.module, view.interface.model_id)
        if other != view.interface.model_id:
            raise CodegenError(
                f"model `{view.interface.model_id}`: its module name `{view.module}` is also "
                f"`{other}`'s",
                hint="generate one of them into a package of its own",
            )


def _exports(modules: Sequence[ModuleView]) -> list[str]:
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


def _reexports(modules: Sequence[ModuleView]) -> list[tuple[str, list[str]]]:
    """(module, names as the package's `__init__` imports them), in the order isort keeps."""
    several = len(modules) > 1
    found = [("errors", ["OutputShapeError", "WeightsNotFoundError"])]
    for view in modules:
        names = [f"{n} as {view.module}_{n}" if several else n for n in view.exports]
        found.append((view.module, names))
    return sorted(found)


def _dependencies(modules: Sequence[ModuleView]) -> list[str]:
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
    environment.filters["py"] = python_literal
    return environment


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


@dataclass(frozen=True)
class _Extras:
    """What builds on a package adds to it (`write_package`)."""

    files: Mapping[str, str]
    dependencies: tuple[str, ...]
    scripts: Mapping[str, str]


def _render(
    folder: Path,
    package: str,
    modules: Sequence[ModuleView],
    exports: Sequence[str],
    progress: Callable[[ModelInterface], None] | None,
    *,
    extras: _Extras,
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
        "dependencies": sorted({*_dependencies(modules), *map(_requirement, extras.dependencies)}),
        "scripts": extras.scripts,
        "call_log_graph": f"{IriMinter.from_environment().base}graph/calls/{package}",
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
    shutil.copyfile(CALL_LOG, source / "_call_log.py")  # standard library only, tested there
    for name, text in extras.files.items():
        (source / name).write_text(text, encoding="utf-8")
    write("test__weights.py.j2", tests / "test__weights.py")
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
