"""LLM tool schemas from a model's interface description: OpenAI, Anthropic, MCP, JSON Schema.

An agent calls a registered model through a tool: one per (model, function), in the shape its
vendor reads. All four shapes come from the same `ModelInterface` (`codegen.interface`), so
they cannot disagree: the same name rule, the same description, the same input schema.

* Names are `{module}_{function}` (`all_minilm_l6_v2_embed`), within each vendor's rule
  (`VENDOR_RULES`). A name too long, or one two models share (`org-a/bert` and `org-b/bert`),
  becomes `{module, cut}_{hash of the model id}_{function}`: still readable, always the same,
  never shared in one list.
* Descriptions say what the model is for (the card's summary, intended use, limitations,
  license) and how to call it (how to pass an image or audio, the labels it answers with, its
  sequence length, modalities, the memory its weights need). Where a vendor caps the length
  (OpenAI: 1,024 characters) the card's words are cut first, the calling facts last.
* Input schemas are JSON Schema 2020-12 objects: types, bounds, defaults, `examples` (a data
  kind's `mkg:toolExample` in ontology/codegen.ttl), `required`, no other properties.
* Results: MCP's `outputSchema` is an object whose `result` is the value (MCP asks for an
  object at the root); the `jsonschema` document keeps the bare value under `$defs.result`.
  An embedding is an array of exactly `dimension` numbers, a label one of an `enum`.

>>> import tempfile
>>> from codegen.interface import describe
>>> from kg.ingest.register import register
>>> from kg.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> _ = register(["examples/models/tiny-sentiment-classifier"], store, size=False)
>>> [tool] = tool_schemas([describe(store, "tiny-sentiment-classifier")], "openai")
>>> tool["function"]["name"], tool["function"]["parameters"]["required"]
('tiny_sentiment_classifier_classify', ['text'])
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, get_args

from kg.compat.memory import format_bytes
from kg.errors import CodegenError, UsageError

if TYPE_CHECKING:
    from codegen.interface import Argument, Function, ModelInterface, Result

__all__ = [
    "TOOL_FORMATS",
    "VENDOR_RULES",
    "ToolFormat",
    "VendorRule",
    "tool_examples",
    "tool_format",
    "tool_pairs",
    "tool_schemas",
]

ToolFormat = Literal["openai", "anthropic", "mcp", "jsonschema"]
TOOL_FORMATS: tuple[ToolFormat, ...] = get_args(ToolFormat)

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
RESULT = "result"
"""The property of an MCP tool's structured content that holds the function's value."""


@dataclass(frozen=True)
class VendorRule:
    """What a vendor accepts: a tool name (pattern, length) and a description's length."""

    pattern: str
    max_length: int
    max_description: int | None
    source: str
    """where the rule is written down"""

    def accepts(self, name: str) -> bool:
        return re.fullmatch(self.pattern, name) is not None


_PORTABLE = r"[a-zA-Z0-9_-]{1,64}"
VENDOR_RULES: dict[ToolFormat, VendorRule] = {
    "openai": VendorRule(
        _PORTABLE, 64, 1024, "openai.types.shared.FunctionDefinition.name; the API refuses a "
        "function.description over 1,024 characters (string_above_max_length)",
    ),
    "anthropic": VendorRule(
        _PORTABLE, 64, None, "Anthropic Messages API, tools[].name: ^[a-zA-Z0-9_-]{1,64}$",
    ),
    "mcp": VendorRule(
        r"[A-Za-z0-9._-]{1,128}", 128, None, "MCP SEP-986 (mcp.shared.tool_name_validation)",
    ),
    "jsonschema": VendorRule(
        _PORTABLE, 64, None, "none of its own: the portable rule, so the title works anywhere",
    ),
}  # fmt: skip
"""Each format's name rule (patterns match whole names)."""

_HASH_LENGTH = 6
_SHORTEST_CUT = 40
"""a card section cut shorter than this is left out rather than kept as a stub"""
_LABELS_SHOWN = 8
_LABELS_WIDTH = 160
"""how many labels a description lists, and in how many characters at most"""


def tool_schemas(interfaces: Sequence[ModelInterface], fmt: str) -> list[dict[str, Any]]:
    """One tool per (model, function) of `interfaces`, in `fmt`'s shape.

    `fmt` is one of `TOOL_FORMATS`; anything else is a `UsageError` naming them. A name no
    vendor rule can hold is a `CodegenError` naming the model. The same model given twice
    gives its tools once.
    """
    return [tool for _, _, tool in tool_pairs(interfaces, fmt)]


def tool_pairs(
    interfaces: Sequence[ModelInterface], fmt: str
) -> list[tuple[ModelInterface, Function, dict[str, Any]]]:
    """`tool_schemas`, each tool with the model and function it stands for (what a server
    that exposes the tools calls)."""
    known = tool_format(fmt)
    rule = VENDOR_RULES[known]
    pairs = _unique_pairs(interfaces)
    names = _names(pairs, known, rule)
    shape = _SHAPES[known]
    return [
        (interface, function, shape(interface, function, name, rule))
        for (interface, function), name in zip(pairs, names, strict=True)
    ]


def tool_format(text: str) -> ToolFormat:
    """`text` as a tool format, or a `UsageError` naming those there are.

    >>> tool_format("mcp")
    'mcp'
    >>> tool_format("gemini")
    Traceback (most recent call last):
    ...
    kg.errors.UsageError: field `format`: unknown tool format 'gemini' (expected one of \
openai, anthropic, mcp, jsonschema)
    """
    for known in TOOL_FORMATS:
        if text == known:
            return known
    raise UsageError(
        f"unknown tool format {text!r}",
        field="format",
        expected=f"one of {', '.join(TOOL_FORMATS)}",
    )


# --- names -------------------------------------------------------------------------------------


def _unique_pairs(
    interfaces: Sequence[ModelInterface],
) -> list[tuple[ModelInterface, Function]]:
    seen: set[tuple[str, str]] = set()
    pairs = []
    for interface in interfaces:
        for function in interface.functions:
            if (interface.iri, function.name) not in seen:
                seen.add((interface.iri, function.name))
                pairs.append((interface, function))
    return pairs


def _names(pairs: list[tuple[ModelInterface, Function]], fmt: str, rule: VendorRule) -> list[str]:
    plain = [f"{interface.module}_{function.name}" for interface, function in pairs]
    shared = {name for name, count in Counter(plain).items() if count > 1}
    names = []
    for (interface, function), name in zip(pairs, plain, strict=True):
        if name in shared or len(name) > rule.max_length:
            name = _qualified(interface, function, fmt, rule)
        if not rule.accepts(name):
            raise CodegenError(
                f"model `{interface.model_id}`: `{name}` cannot be a {fmt} tool name",
                field="module",
                expected=f"a name matching ^{rule.pattern}$ ({rule.source})",
                hint="its module name must be ASCII letters, digits and `_` "
                "(codegen.interface.python_name makes one from the model's name)",
            )
        names.append(name)
    taken: dict[str, str] = {}
    for (interface, _), name in zip(pairs, names, strict=True):
        other = taken.setdefault(name, interface.model_id)
        if other != interface.model_id:
            raise CodegenError(
                f"models `{other}` and `{interface.model_id}` both get the tool name `{name}`",
                hint="generate their tools in two lists",
            )
    return names


def _qualified(interface: ModelInterface, function: Function, fmt: str, rule: VendorRule) -> str:
    """`{module}_{hash}_{function}`, the module cut to fit: the same model always gets the
    same name, and two models the same only if their ids' hashes collide."""
    digest = hashlib.sha256(interface.model_id.encode()).hexdigest()[:_HASH_LENGTH]
    room = rule.max_length - len(function.name) - len(digest) - 2
    module = interface.module[:room].rstrip("_") if room > 0 else ""
    if not module:
        raise CodegenError(
            f"model `{interface.model_id}`: function `{function.name}` leaves no room for the "
            f"model in a {fmt} tool name of {rule.max_length} characters",
            field="function",
            hint="shorten the function's name (mkg:codeFunction in ontology/codegen.ttl)",
        )
    return f"{module}_{digest}_{function.name}"


# --- descriptions ------------------------------------------------------------------------------


def _description(interface: ModelInterface, function: Function, limit: int | None) -> str:
    """The card's words and the calling facts; over `limit`, the card's words are cut."""
    summary = interface.summary
    if summary == f"The model {interface.model_id}.":  # interface.py's stand-in: says nothing
        summary = ""
    limitations = interface.limitations
    if limitations == interface.intended_use:  # a card whose one section was read for both
        limitations = None
    # (text, may be cut): the calling facts stay whole, the card's prose gives way
    sections: list[tuple[str, bool]] = [
        (function.description, False),
        (summary, True),
        (" ".join(_usage(interface, function)), False),
        (f"Intended use: {interface.intended_use}" if interface.intended_use else "", True),
        (f"Limitations: {limitations}" if limitations else "", True),
        (f"License: {interface.license}." if interface.license else "", False),
    ]
    sections = [(text, cut) for text, cut in sections if text]
    text = "\n\n".join(text for text, _ in sections)
    if limit is None or len(text) <= limit:
        return text
    room = limit - sum(len(t) + 2 for t, cut in sections if not cut)
    kept = []
    for section, may_cut in sections:
        if may_cut:
            section = _cut(section, room) if room >= _SHORTEST_CUT else ""
            room -= len(section) + 2 if section else 0
        if section:
            kept.append(section)
    return _cut("\n\n".join(kept), limit)


def _usage(interface: ModelInterface, function: Function) -> list[str]:
    lines = [f"Pass `{a.name}` as {a.hint}." for a in function.arguments if a.hint is not None]
    lines.append(_returns(function))
    if interface.max_sequence_length is not None:
        lines.append(f"Max sequence length: {interface.max_sequence_length} tokens.")
    if interface.modalities:
        lines.append(f"Modalities: {', '.join(interface.modalities)}.")
    if interface.weights_bytes is not None:
        lines.append(f"Its weights need about {format_bytes(interface.weights_bytes)} of memory.")
    return lines


def _returns(function: Function) -> str:
    result = function.result
    if result.dimension is not None:
        return f"Returns an embedding: {result.dimension} numbers."
    if result.labels:
        shown = [repr(label) for label in result.labels[:_LABELS_SHOWN]]
        if len(result.labels) <= _LABELS_SHOWN:
            return f"Returns one label of: {', '.join(shown)}."
        while len(shown) > 1 and len(", ".join(shown)) > _LABELS_WIDTH:
            shown.pop()
        return f"Returns one of {len(result.labels)} labels, e.g. {', '.join(shown)}."
    if any(a.name == "candidate_labels" for a in function.arguments):
        return "Returns the best of `candidate_labels`."
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", result.kind).lower()
    return f"Returns the {words}."


def _cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut at a word and marked with an ellipsis."""
    if len(text) <= width:
        return text
    cut = text[: max(width - 1, 0)]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


# --- schemas -----------------------------------------------------------------------------------


def _input_schema(function: Function) -> dict[str, Any]:
    properties = {a.name: _argument_schema(function, a) for a in function.arguments}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": [a.name for a in function.arguments if a.required],
        "additionalProperties": False,
    }
    example = {name: prop["examples"][0] for name, prop in properties.items() if "examples" in prop}
    if all(name in example for name in schema["required"]):
        schema["examples"] = [example]
    return schema


def _argument_schema(function: Function, argument: Argument) -> dict[str, Any]:
    description = argument.description or f"The input {(argument.kind or 'value').lower()}."
    if argument.hint is not None:  # the JSON value is the hint's, not the Python value's
        description = f"The {argument.name}: {argument.hint}."
    schema: dict[str, Any] = {"type": argument.json_type, "description": description}
    if argument.json_type == "array":
        schema["items"] = {"type": argument.json_item_type or "string"}
    if argument.minimum is not None:
        schema["minimum"] = argument.minimum
    if argument.maximum is not None:
        schema["maximum"] = argument.maximum
    if argument.default is not None:
        schema["default"] = argument.default
    examples = _argument_examples(function, argument)
    if examples:
        schema["examples"] = examples
    return schema


def _argument_examples(function: Function, argument: Argument) -> list[Any]:
    if argument.kind is not None:
        return list(tool_examples().get(argument.kind, ())[:1])
    if argument.default is not None:
        return [argument.default]
    if argument.json_type == "array" and function.result.kind == "LabelSet":
        labels = tool_examples().get("LabelSet", ())  # the caller's labels are labels too
        return [list(labels)] if labels else []
    return []


def _result_schema(result: Result) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": result.json_type}
    if result.json_item_type is not None:
        schema["items"] = {"type": result.json_item_type}
    if result.dimension is not None:
        schema["minItems"] = schema["maxItems"] = result.dimension
        schema["description"] = f"The embedding: {result.dimension} numbers."
    elif result.labels:
        schema["enum"] = list(result.labels)
        schema["description"] = "The label the model gives."
    return schema


@cache
def tool_examples() -> dict[str, tuple[str, ...]]:
    """Data kind (local name) -> its example values (`mkg:toolExample`, ontology/codegen.ttl).

    >>> tool_examples()["Image"]
    ('photos/cat.jpg',)
    """
    from pyoxigraph import Literal as RdfLiteral
    from pyoxigraph import NamedNode, RdfFormat, Store

    from ontology.files import CODEGEN_FILE

    store = Store()
    store.load(path=str(CODEGEN_FILE), format=RdfFormat.TURTLE)
    found: dict[str, list[str]] = {}
    example = NamedNode("https://w3id.org/modelkg/ontology#toolExample")
    for quad in store.quads_for_pattern(None, example, None):
        if isinstance(quad.subject, NamedNode) and isinstance(quad.object, RdfLiteral):
            kind = quad.subject.value.rsplit("#", 1)[-1]
            found.setdefault(kind, []).append(quad.object.value)
    return {kind: tuple(sorted(values)) for kind, values in found.items()}


# --- the four shapes ---------------------------------------------------------------------------


def _openai(
    interface: ModelInterface, function: Function, name: str, rule: VendorRule
) -> dict[str, Any]:
    """`ChatCompletionFunctionToolParam`. Not `strict`: strict mode wants every argument
    required, and the options here have defaults a caller may leave out."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": _description(interface, function, rule.max_description),
            "parameters": _input_schema(function),
        },
    }


def _anthropic(
    interface: ModelInterface, function: Function, name: str, rule: VendorRule
) -> dict[str, Any]:
    """`anthropic.types.ToolParam`."""
    return {
        "name": name,
        "description": _description(interface, function, rule.max_description),
        "input_schema": _input_schema(function),
    }


def _mcp(
    interface: ModelInterface, function: Function, name: str, rule: VendorRule
) -> dict[str, Any]:
    """`mcp.types.Tool` as it goes on the wire (camelCase); the output is an object (the
    spec asks for one at the root up to 2025-11-25) whose `result` is the value."""
    return {
        "name": name,
        "title": f"{function.task_label}: {interface.model_id}",
        "description": _description(interface, function, rule.max_description),
        "inputSchema": _input_schema(function),
        "outputSchema": {
            "type": "object",
            "properties": {RESULT: _result_schema(function.result)},
            "required": [RESULT],
            "additionalProperties": False,
        },
    }


def _jsonschema(
    interface: ModelInterface, function: Function, name: str, rule: VendorRule
) -> dict[str, Any]:
    """A JSON Schema 2020-12 document of the arguments, titled by the tool's name; the
    result's schema under `$defs.result`."""
    return {
        "$schema": JSON_SCHEMA,
        "title": name,
        "description": _description(interface, function, rule.max_description),
        **_input_schema(function),
        "$defs": {RESULT: _result_schema(function.result)},
    }


_Shape = Callable[["ModelInterface", "Function", str, VendorRule], dict[str, Any]]
_SHAPES: dict[ToolFormat, _Shape] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "mcp": _mcp,
    "jsonschema": _jsonschema,
}
