"""An agent builder hands registered models to an LLM as tools: one per model and function, in
OpenAI's, Anthropic's or MCP's shape or as plain JSON Schema. Each tool passes the vendor SDK's
own types and the JSON Schema 2020-12 meta-schema, carries its examples, bounds and labels, and
is named within the vendor's rule, never twice in one list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import mcp.types
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.shared import FunctionDefinition
from pydantic import TypeAdapter
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from codegen.interface import ModelInterface, describe, describe_many
from codegen.tools import TOOL_FORMATS, VENDOR_RULES, tool_schemas
from kg.errors import CodegenError, UsageError
from kg.store import ModelStore
from resolvers.command import main
from tests.codegen.conftest import (
    DETECTOR,
    EMBEDDER,
    IMAGE_CLASSIFIER,
    LLM,
    REPRESENTATIVE,
    TEXT_CLASSIFIER,
)

STARS = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]


@pytest.fixture(scope="module")
def interfaces(registry: ModelStore) -> list[ModelInterface]:
    return describe_many(registry, list(REPRESENTATIVE))


def parts(tool: dict[str, Any], fmt: str) -> tuple[str, str, dict[str, Any], Any]:
    """A tool's name, description, input schema and output schema (None where it has none)."""
    if fmt == "openai":
        function = tool["function"]
        return function["name"], function["description"], function["parameters"], None
    if fmt == "anthropic":
        return tool["name"], tool["description"], tool["input_schema"], None
    if fmt == "mcp":
        return tool["name"], tool["description"], tool["inputSchema"], tool["outputSchema"]
    inputs = {k: v for k, v in tool.items() if k not in ("$schema", "title", "description")}
    return tool["title"], tool["description"], inputs, tool["$defs"]["result"]


def keys_of(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def check_with_sdk(tool: dict[str, Any], fmt: str) -> None:
    if fmt == "openai":
        TypeAdapter(ChatCompletionFunctionToolParam).validate_python(tool)
        FunctionDefinition.model_validate(tool["function"])
        assert set(tool) <= keys_of(ChatCompletionFunctionToolParam)
        assert set(tool["function"]) <= set(FunctionDefinition.model_fields)
    elif fmt == "anthropic":
        TypeAdapter(ToolParam).validate_python(tool)
        assert set(tool) <= keys_of(ToolParam)
    elif fmt == "mcp":
        parsed = mcp.types.Tool.model_validate(tool)
        assert parsed.model_dump(by_alias=True, exclude_none=True) == tool  # nothing dropped
        assert parsed.output_schema is not None and parsed.output_schema["type"] == "object"
    else:
        assert tool["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("fmt", TOOL_FORMATS)
def test_every_tool_passes_its_vendors_own_types(
    interfaces: list[ModelInterface], fmt: str
) -> None:
    tools = tool_schemas(interfaces, fmt)

    assert len(tools) == sum(len(i.functions) for i in interfaces)
    for tool in tools:
        check_with_sdk(tool, fmt)


@pytest.mark.parametrize("fmt", TOOL_FORMATS)
def test_every_schema_is_json_schema_2020_12_and_its_examples_pass_it(
    interfaces: list[ModelInterface], fmt: str
) -> None:
    for tool in tool_schemas(interfaces, fmt):
        _, _, inputs, output = parts(tool, fmt)

        schemas = [tool] if fmt == "jsonschema" else [inputs, output]
        for schema in (s for s in schemas if s is not None):
            jsonschema.Draft202012Validator.check_schema(schema)
        assert inputs["type"] == "object" and inputs["additionalProperties"] is False
        assert inputs["examples"], f"{parts(tool, fmt)[0]} has no example call"
        for example in inputs["examples"]:
            jsonschema.Draft202012Validator(inputs).validate(example)
        for prop in inputs["properties"].values():
            for example in prop.get("examples", []):
                jsonschema.Draft202012Validator(prop).validate(example)


@pytest.mark.parametrize("fmt", TOOL_FORMATS)
def test_names_follow_the_vendors_rule_and_are_never_shared(
    interfaces: list[ModelInterface], fmt: str
) -> None:
    names = [parts(tool, fmt)[0] for tool in tool_schemas(interfaces, fmt)]

    assert all(VENDOR_RULES[fmt].accepts(name) for name in names)  # type: ignore[index]
    assert len(set(names)) == len(names)
    assert "all_minilm_l6_v2_embed" in names


def test_one_tool_per_model_and_function_named_after_both(
    interfaces: list[ModelInterface],
) -> None:
    names = [tool["name"] for tool in tool_schemas(interfaces, "anthropic")]

    assert names == [
        "bert_base_multilingual_uncased_sentiment_classify",
        "all_minilm_l6_v2_embed",
        "gpt2_generate",
        "resnet_50_classify_image",
        "whisper_base_transcribe",
        "clip_vit_base_patch32_classify_image_zero_shot",
    ]


def test_labels_are_an_enum_and_an_embedding_has_its_dimension(registry: ModelStore) -> None:
    classifier, embedder = describe_many(registry, [TEXT_CLASSIFIER, EMBEDDER])

    [label_tool, embed_tool] = tool_schemas([classifier, embedder], "mcp")
    [label_doc, embed_doc] = tool_schemas([classifier, embedder], "jsonschema")

    assert label_tool["outputSchema"]["properties"]["result"]["enum"] == STARS
    assert label_doc["$defs"]["result"]["enum"] == STARS
    embedding = embed_tool["outputSchema"]["properties"]["result"]
    assert embedding["type"] == "array" and embedding["items"] == {"type": "number"}
    assert embedding["minItems"] == embedding["maxItems"] == 384
    assert embed_doc["$defs"]["result"]["maxItems"] == 384


def test_options_keep_the_models_bounds_and_defaults(registry: ModelStore) -> None:
    [tool] = tool_schemas([describe(registry, LLM)], "openai")
    parameters = tool["function"]["parameters"]

    max_new_tokens = parameters["properties"]["max_new_tokens"]
    assert (max_new_tokens["minimum"], max_new_tokens["maximum"]) == (1, 1024)
    assert max_new_tokens["default"] == 64
    assert parameters["required"] == ["prompt"]


def test_descriptions_say_what_the_model_is_for_and_how_to_call_it(
    interfaces: list[ModelInterface],
) -> None:
    described = {t["name"]: t["description"] for t in tool_schemas(interfaces, "anthropic")}

    classify = described["bert_base_multilingual_uncased_sentiment_classify"]
    assert "sentiment" in classify and "License: mit." in classify
    assert "'1 star', '2 stars'" in classify and "Max sequence length: 512 tokens." in classify
    assert "669.44 MB of memory" in classify
    image = described["resnet_50_classify_image"]
    assert "Pass `image` as a path to an image file" in image
    assert "labels, e.g. 'Afghan hound, Afghan'" in image
    assert "a path to an audio file" in described["whisper_base_transcribe"]
    assert "Modalities: Image, Text." in described["clip_vit_base_patch32_classify_image_zero_shot"]


def test_a_long_card_is_cut_to_openais_limit_and_the_calling_facts_stay(
    registry: ModelStore,
) -> None:
    wordy = describe(registry, TEXT_CLASSIFIER).model_copy(
        update={"limitations": "It may be wrong about sarcasm. " * 100}
    )

    [openai_tool] = tool_schemas([wordy], "openai")
    [anthropic_tool] = tool_schemas([wordy], "anthropic")

    cut = openai_tool["function"]["description"]
    assert len(cut) <= 1024
    assert "Returns one label of: '1 star'" in cut and cut.endswith("License: mit.")
    assert "Limitations: It may be wrong" in cut and "…" in cut
    assert len(anthropic_tool["description"]) > 3000  # no limit there: the card stays whole


def test_a_name_too_long_is_shortened_readably_and_stays_unique(registry: ModelStore) -> None:
    base = describe(registry, EMBEDDER)
    long_a = base.model_copy(update={"module": "a_very_long_model_name_" * 4, "model_id": "x/a"})
    long_b = long_a.model_copy(update={"model_id": "y/a", "iri": base.iri + "-b"})

    names = [t["function"]["name"] for t in tool_schemas([long_a, long_b], "openai")]
    again = [t["function"]["name"] for t in tool_schemas([long_a, long_b], "openai")]

    assert names == again  # deterministic
    assert len(set(names)) == 2
    for name in names:
        assert len(name) <= 64 and VENDOR_RULES["openai"].accepts(name)
        assert name.startswith("a_very_long_model_name_") and name.endswith("_embed")
    whole = long_a.module.rstrip("_")  # MCP allows 128 characters: the module stays whole
    assert all(t["name"].startswith(f"{whole}_") for t in tool_schemas([long_a, long_b], "mcp"))


def test_two_models_with_one_module_name_get_two_names(registry: ModelStore) -> None:
    mine = describe(registry, EMBEDDER)
    theirs = mine.model_copy(update={"model_id": "someone/all-MiniLM-L6-v2", "iri": "urn:x:2"})

    names = [t["name"] for t in tool_schemas([mine, theirs], "anthropic")]

    assert len(set(names)) == 2
    assert all(n.startswith("all_minilm_l6_v2_") and n.endswith("_embed") for n in names)


def test_the_same_model_twice_gives_its_tools_once(registry: ModelStore) -> None:
    embedder = describe(registry, EMBEDDER)

    assert len(tool_schemas([embedder, embedder], "mcp")) == 1


def test_a_name_that_cannot_be_valid_is_refused_naming_the_model(registry: ModelStore) -> None:
    odd = describe(registry, EMBEDDER).model_copy(update={"module": "modèle"})

    with pytest.raises(CodegenError, match="sentence-transformers/all-MiniLM-L6-v2"):
        tool_schemas([odd], "openai")


def test_an_unknown_format_names_those_there_are(interfaces: list[ModelInterface]) -> None:
    with pytest.raises(UsageError, match="openai, anthropic, mcp, jsonschema"):
        tool_schemas(interfaces, "gemini")


@pytest.mark.parametrize("fmt", TOOL_FORMATS)
def test_the_schemas_read_as_they_did(
    registry: ModelStore, fmt: str, snapshot: SnapshotAssertion
) -> None:
    tools = tool_schemas(describe_many(registry, [TEXT_CLASSIFIER, EMBEDDER]), fmt)

    assert tools == snapshot(extension_class=JSONSnapshotExtension)


def test_the_command_writes_a_file_and_refuses_a_bad_format(
    registry: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    location = registry.location
    out = tmp_path / "tools.json"

    code = main(["codegen", "tools", EMBEDDER, IMAGE_CLASSIFIER, "--store", location,
                 "--format", "mcp", "-o", str(out)])  # fmt: skip

    assert code == 0
    tools = json.loads(out.read_text(encoding="utf-8"))
    assert [t["name"] for t in tools] == ["all_minilm_l6_v2_embed", "resnet_50_classify_image"]
    assert "wrote 2 mcp tool(s)" in capsys.readouterr().err
    assert main(["codegen", "tools", EMBEDDER, "--store", location, "--format", "gemini"]) == 2
    assert "openai, anthropic, mcp, jsonschema" in capsys.readouterr().err
    assert main(["codegen", "tools", DETECTOR, "--store", location]) == 1
    assert "no task of its (`object-detection`)" in capsys.readouterr().err


def test_the_command_prints_json_to_stdout(
    registry: ModelStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["codegen", "tools", LLM, "--store", registry.location]) == 0

    [tool] = json.loads(capsys.readouterr().out)
    assert tool["function"]["name"] == "gpt2_generate"
