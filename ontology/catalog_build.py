"""Generate ``ontology/catalog.ttl``: every model type and architecture transformers knows.

Why this exists: ModelKG turns Hugging Face ``config.json`` files into RDF, and to do that well it
has to know, for every ``model_type`` string it may meet, which config class reads it, which
keys are mere aliases of canonical keys (GPT-2's ``n_embd`` *is* ``hidden_size``), which nested
sub-configs it has, which architecture classes belong to it and which ``AutoModelFor...`` class and
pipeline task each architecture serves.  All of that already lives in transformers' own auto
mappings, so instead of curating it by hand we derive it from the installed transformers and keep
the result as a checked-in Turtle file.  The file is deterministic (same transformers version,
byte-identical output), which lets CI detect that it is stale after a transformers upgrade:

    python -m ontology.catalog_build          # (re)write ontology/catalog.ttl
    python -m ontology.catalog_build --check  # exit 1 if the file is stale

The Turtle is written by hand (not by an RDF library's serializer) so that its bytes depend only on
transformers, not on the formatting choices of a particular rdflib/pyoxigraph release.  The tests
parse it with both pyoxigraph and rdflib.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from ontology.catalog_version import REGENERATE_COMMAND

__all__ = ["build_catalog", "catalog_path", "is_stale", "main"]

MKG = "https://w3id.org/modelkg/ontology#"
CATALOG = "https://w3id.org/modelkg/catalog/"
MODEL_TYPE_NS = CATALOG + "model-type/"
ARCHITECTURE_NS = CATALOG + "architecture/"
AUTO_MAPPING_NS = CATALOG + "auto-mapping/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"

PREFIXES: dict[str, str] = {
    "mkg": MKG,
    "mkgt": MODEL_TYPE_NS,
    "mkga": ARCHITECTURE_NS,
    "mkgm": AUTO_MAPPING_NS,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
}

#: Canonical config keys whose class defaults are recorded as ``mkg:ParameterDefault`` nodes.
DEFAULT_KEYS: tuple[str, ...] = (
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "num_hidden_layers",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "num_labels",
)

_DISPLAY_PATH = "ontology/catalog.ttl"
_CONFIGURATION_AUTO = "transformers.models.auto.configuration_auto"
_MODELING_AUTO = "transformers.models.auto.modeling_auto"
_MAPPING_CONSTANT = re.compile(r"^MODEL(?:_FOR_[A-Z0-9_]+)?_MAPPING_NAMES$")

_RDF_TYPE = ox.NamedNode(RDF + "type")
_XSD_STRING = ox.NamedNode(XSD + "string")
_XSD_INTEGER = ox.NamedNode(XSD + "integer")
_XSD_BOOLEAN = ox.NamedNode(XSD + "boolean")
# A prefixed-name local part we are happy to print: a conservative subset of Turtle's PN_LOCAL.
_SIMPLE_LOCAL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")


def catalog_path() -> Path:
    """Return the location of the checked-in catalog, next to this module.

    >>> catalog_path().name
    'catalog.ttl'
    >>> catalog_path().parent.name
    'ontology'
    """
    return Path(__file__).parent / "catalog.ttl"


def build_catalog() -> str:
    """Return the catalog as Turtle text, derived from the installed transformers.

    Imports every config class registered in ``CONFIG_MAPPING_NAMES`` (lazily, via
    ``CONFIG_MAPPING``), instantiates each with no arguments to read a few parameter defaults,
    and walks every ``MODEL_*_MAPPING_NAMES`` constant of ``modeling_auto``.  Takes on the order
    of 10-20 seconds.  The output is fully sorted, so the same transformers version always gives
    byte-identical text.  transformers' logging and Python warnings are silenced meanwhile.
    """
    with _quiet_transformers():
        triples = _catalog_triples()
    return _to_turtle(triples, header_comment=_header_comment())


def is_stale() -> bool:
    """Tell whether ``catalog.ttl`` is missing or differs from what :func:`build_catalog` gives."""
    return _is_stale(build_catalog())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: write the catalog, or with ``--check`` verify it is current.

    Returns the process exit status: 0 on success, 1 when ``--check`` finds the file stale.
    """
    parser = argparse.ArgumentParser(
        prog="python -m ontology.catalog_build",
        description="Generate ontology/catalog.ttl from the installed transformers.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if ontology/catalog.ttl is out of date",
    )
    args = parser.parse_args(argv)
    text = build_catalog()
    version = _transformers_version()
    if args.check:
        if _is_stale(text):
            print(
                f"{_DISPLAY_PATH} is stale for transformers {version}; "
                f"regenerate with `{REGENERATE_COMMAND}`",
                file=sys.stderr,
            )
            return 1
        print(f"{_DISPLAY_PATH} is up to date for transformers {version}")
        return 0
    data = text.encode("utf-8")
    catalog_path().write_bytes(data)
    print(f"wrote {_DISPLAY_PATH} for transformers {version} ({len(data)} bytes)")
    return 0


# --------------------------------------------------------------------------- transformers side


def _transformers_version() -> str:
    return str(importlib.import_module("transformers").__version__)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' logger and Python warnings, restoring both afterwards."""
    hf_logging: Any = importlib.import_module("transformers.utils.logging")
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(previous)


def _is_deprecated(model_type: str) -> bool:
    """Mirror ``configuration_auto.model_type_to_module_name``'s test for deprecated models.

    In transformers v5 ``DEPRECATED_MODELS`` is a list of *module* names (``transfo_xl``, not
    ``transfo-xl``), so the model type is normalised the same way before the lookup.
    """
    cfg: Any = importlib.import_module(_CONFIGURATION_AUTO)
    special: dict[str, str] = dict(getattr(cfg, "SPECIAL_MODEL_TYPE_TO_MODULE_NAME", {}))
    deprecated = {str(name) for name in getattr(cfg, "DEPRECATED_MODELS", ())}
    module_name = special.get(model_type, model_type.replace("-", "_"))
    return module_name in deprecated


def _int_default(instance: Any, key: str) -> int | None:
    """Read ``instance.<key>`` (attribute_map applies) if it is a plain int; else ``None``."""
    try:
        value = getattr(instance, key)
    except Exception:  # properties on composite configs may raise anything
        return None
    return value if type(value) is int else None


def _model_type_triples(model_type: str, config_class_name: str) -> list[ox.Triple]:
    """Describe one ``CONFIG_MAPPING_NAMES`` entry: aliases, sub-configs, defaults."""
    cfg: Any = importlib.import_module(_CONFIGURATION_AUTO)
    node = _model_type(model_type)
    out = [
        ox.Triple(node, _RDF_TYPE, _mkg("ModelType")),
        ox.Triple(node, _mkg("modelTypeName"), _string(model_type)),
        ox.Triple(node, _mkg("configClass"), _string(config_class_name)),
    ]
    if _is_deprecated(model_type):
        out.append(ox.Triple(node, _mkg("deprecated"), ox.Literal(True)))
    try:
        config_class: Any = cfg.CONFIG_MAPPING[model_type]
    except Exception as error:
        message = f"{type(error).__name__}: {error}".strip()
        out.append(ox.Triple(node, _mkg("importError"), _string(message)))
        return out

    base = node.value
    attribute_map: dict[str, str] = dict(getattr(config_class, "attribute_map", None) or {})
    for canonical_key, source_key in attribute_map.items():
        alias = ox.NamedNode(f"{base}/alias/{_segment(str(source_key))}")
        out += [
            ox.Triple(node, _mkg("keyAlias"), alias),
            ox.Triple(alias, _RDF_TYPE, _mkg("KeyAlias")),
            ox.Triple(alias, _mkg("sourceKey"), _string(str(source_key))),
            ox.Triple(alias, _mkg("canonicalKey"), _string(str(canonical_key))),
        ]

    auto_config = getattr(cfg, "AutoConfig", None)
    sub_configs: dict[str, Any] = dict(getattr(config_class, "sub_configs", None) or {})
    for config_key, sub_class in sub_configs.items():
        sub = ox.NamedNode(f"{base}/sub/{_segment(config_key)}")
        out += [
            ox.Triple(node, _mkg("subConfig"), sub),
            ox.Triple(sub, _RDF_TYPE, _mkg("SubConfig")),
            ox.Triple(sub, _mkg("configKey"), _string(config_key)),
        ]
        part_type = None if sub_class is auto_config else getattr(sub_class, "model_type", None)
        if isinstance(part_type, str) and part_type:
            out.append(ox.Triple(sub, _mkg("partModelType"), _model_type(part_type)))

    try:
        instance = config_class()
    except Exception:  # some configs cannot be built without arguments; no defaults then
        return out
    for key in DEFAULT_KEYS:
        value = _int_default(instance, key)
        if value is None:
            continue
        default = ox.NamedNode(f"{base}/default/{_segment(key)}")
        out += [
            ox.Triple(node, _mkg("parameterDefault"), default),
            ox.Triple(default, _RDF_TYPE, _mkg("ParameterDefault")),
            ox.Triple(default, _mkg("canonicalKey"), _string(key)),
            ox.Triple(default, _mkg("defaultValue"), ox.Literal(value)),
        ]
    return out


def _auto_classes_by_mapping(modeling: Any) -> dict[int, list[str]]:
    """Map ``id(<..._MAPPING_NAMES dict>)`` to the Auto classes whose mapping wraps it."""
    factory: Any = importlib.import_module("transformers.models.auto.auto_factory")
    lazy_mapping = factory._LazyAutoMapping
    found: dict[int, list[str]] = {}
    for name, obj in vars(modeling).items():
        if not inspect.isclass(obj):
            continue
        mapping = getattr(obj, "_model_mapping", None)
        if isinstance(mapping, lazy_mapping):
            found.setdefault(id(mapping._model_mapping), []).append(name)
    return found


def _pipeline_tasks_by_auto_class() -> dict[str, list[str]]:
    """Map Auto class names to the ``SUPPORTED_TASKS`` whose PyTorch classes include them.

    ``TASK_ALIASES`` (``sentiment-analysis`` -> ``text-classification`` ...) are left out on
    purpose: an alias is another name for a canonical task, not another task.
    """
    pipelines: Any = importlib.import_module("transformers.pipelines")
    tasks: dict[str, list[str]] = {}
    for task, spec in dict(pipelines.SUPPORTED_TASKS).items():
        for auto_class in spec.get("pt", ()) or ():
            name = auto_class if isinstance(auto_class, str) else auto_class.__name__
            tasks.setdefault(name, []).append(str(task))
    return tasks


def _catalog_triples() -> list[ox.Triple]:
    cfg: Any = importlib.import_module(_CONFIGURATION_AUTO)
    modeling: Any = importlib.import_module(_MODELING_AUTO)
    version = _transformers_version()

    header = ox.NamedNode(CATALOG)
    out = [
        ox.Triple(header, _RDF_TYPE, ox.NamedNode(OWL + "Ontology")),
        ox.Triple(header, ox.NamedNode(RDFS + "comment"), _string(_header_comment(version))),
        ox.Triple(header, _mkg("transformersVersion"), _string(version)),
    ]

    config_names: dict[str, str] = {str(k): str(v) for k, v in cfg.CONFIG_MAPPING_NAMES.items()}
    for model_type in sorted(config_names):
        out += _model_type_triples(model_type, config_names[model_type])

    auto_classes = _auto_classes_by_mapping(modeling)
    tasks = _pipeline_tasks_by_auto_class()
    constants = sorted(name for name in vars(modeling) if _MAPPING_CONSTANT.match(name))
    for constant in constants:
        names: dict[str, Any] = dict(getattr(modeling, constant))
        mapping = ox.NamedNode(AUTO_MAPPING_NS + _segment(constant.removesuffix("_MAPPING_NAMES")))
        out += [
            ox.Triple(mapping, _RDF_TYPE, _mkg("AutoMapping")),
            ox.Triple(mapping, _mkg("mappingName"), _string(constant)),
        ]
        for auto_class in sorted(auto_classes.get(id(getattr(modeling, constant)), [])):
            out.append(ox.Triple(mapping, _mkg("autoClass"), _string(auto_class)))
            for task in sorted(tasks.get(auto_class, [])):
                out.append(ox.Triple(mapping, _mkg("pipelineTask"), _string(task)))
        for model_type, value in sorted(names.items()):
            model_node = _model_type(str(model_type))
            if model_type not in config_names:  # keep the graph closed: declare the type anyway
                out += [
                    ox.Triple(model_node, _RDF_TYPE, _mkg("ModelType")),
                    ox.Triple(model_node, _mkg("modelTypeName"), _string(str(model_type))),
                ]
            class_names = [value] if isinstance(value, str) else list(value)
            for class_name in class_names:
                arch = ox.NamedNode(ARCHITECTURE_NS + _segment(str(class_name)))
                out += [
                    ox.Triple(arch, _RDF_TYPE, _mkg("Architecture")),
                    ox.Triple(arch, _mkg("architectureName"), _string(str(class_name))),
                    ox.Triple(arch, _mkg("ofModelType"), model_node),
                    ox.Triple(arch, _mkg("autoMapping"), mapping),
                ]
    return out


def _header_comment(version: str | None = None) -> str:
    version = version or _transformers_version()
    return f"Generated from transformers {version} by `{REGENERATE_COMMAND}`; do not edit."


def _is_stale(text: str) -> bool:
    path = catalog_path()
    return not path.is_file() or path.read_bytes() != text.encode("utf-8")


# --------------------------------------------------------------------------------- RDF side


def _mkg(local: str) -> ox.NamedNode:
    return ox.NamedNode(MKG + local)


def _string(value: str) -> ox.Literal:
    return ox.Literal(value)


def _segment(name: str) -> str:
    """Percent-encode ``name`` for use as one IRI path segment (unreserved chars stay as-is)."""
    return quote(name, safe="")


def _model_type(model_type: str) -> ox.NamedNode:
    return ox.NamedNode(MODEL_TYPE_NS + _segment(model_type))


def _escape_string(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _render(term: ox.NamedNode | ox.Literal | ox.BlankNode | ox.Triple) -> str:
    """Render one term as Turtle, preferring ``prefix:local`` for IRIs when that is safe."""
    if isinstance(term, ox.NamedNode):
        iri = term.value
        if iri == _RDF_TYPE.value:
            return "a"
        # Longest namespace first, so mkgt: wins over a shorter namespace that also matches.
        for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and _SIMPLE_LOCAL.match(local):
                return f"{prefix}:{local}"
        return f"<{iri}>"
    if isinstance(term, ox.Literal):
        if term.datatype in (_XSD_INTEGER, _XSD_BOOLEAN):
            return term.value
        if term.language:
            return f"{_escape_string(term.value)}@{term.language}"
        if term.datatype == _XSD_STRING:
            return _escape_string(term.value)
        return f"{_escape_string(term.value)}^^{_render(term.datatype)}"
    raise TypeError(f"cannot render {term!r} in the catalog")


def _to_turtle(triples: Iterable[ox.Triple], header_comment: str) -> str:
    """Serialise ``triples`` as sorted Turtle: one block per subject, rdf:type first."""
    by_subject: dict[str, set[tuple[int, str, str]]] = {}
    for triple in set(triples):
        subject, predicate = triple.subject, triple.predicate
        if not isinstance(subject, ox.NamedNode):
            raise TypeError(f"catalog subjects must be IRIs, got {subject!r}")
        rank = 0 if predicate == _RDF_TYPE else 1
        by_subject.setdefault(subject.value, set()).add(
            (rank, predicate.value, _render(triple.object))
        )

    lines = [f"# {header_comment}"]
    lines += [f"@prefix {prefix}: <{namespace}> ." for prefix, namespace in PREFIXES.items()]
    for subject_iri in sorted(by_subject):
        statements = [
            f"{_render(ox.NamedNode(predicate_iri))} {obj}"
            for _, predicate_iri, obj in sorted(by_subject[subject_iri])
        ]
        lines.append("")
        lines.append(f"{_render(ox.NamedNode(subject_iri))} " + " ;\n    ".join(statements) + " .")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
