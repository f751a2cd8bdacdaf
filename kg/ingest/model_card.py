"""Read a model card (`README.md`) with huggingface_hub's own `ModelCard` classes.

The YAML front matter gives license, pipeline tag, library, tags, datasets, languages, base
models and their relation, and model-index results; the body gives a short description.
Broken YAML is an error that names the line; a card without front matter is fine. Front
matter that is opened and never closed is not read by the Hub either, so the card's license,
tags and base model would silently go missing: ModelKG warns, naming the line it opens on, and
refuses a folder whose only file is that card (nothing at all would be known of the model). A
UTF-8 byte-order mark before the card is dropped, as Markdown renderers drop it. Each list field
is capped (`kg.ingest.limits`) before anything is built from it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from huggingface_hub.repocard_data import ModelCardData
from markdown_it import MarkdownIt
from markdown_it.token import Token

from kg.errors import ModelCardError
from kg.ingest.draft import ModelDraft
from kg.ingest.limits import LIST_CAPS, check_list_length
from kg.ingest.sources import is_hub_id
from ontology.namespaces import MKG, RDF, SCHEMA

__all__ = ["BASE_MODEL_RELATIONS", "read_model_card", "unclosed_front_matter"]

BASE_MODEL_RELATIONS = ("adapter", "merge", "quantized", "finetune")
"""The Hub's values of `base_model_relation`."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HUB_PREFIXES = ("https://huggingface.co/", "http://huggingface.co/", "hf.co/", "huggingface.co/")
_INTENDED_USE = re.compile(r"^(intended uses?\b|uses$|direct use$|how to use$)", re.IGNORECASE)
_LIMITATIONS = re.compile(r"(limitations|bias, risks|risks and)", re.IGNORECASE)
_PLACEHOLDER = "more information needed"  # the Hub's and Trainer's card templates, unfilled
_SURROGATE = re.compile("[\ud800-\udfff]")
_MARKDOWN_NOISE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<[^>]+>|\[([^\]]*)\]\([^)]*\)")
_BLOCKS = MarkdownIt().disable("inline")
"""A card's block structure (headings, paragraphs, list items) with each block's raw text:
sections read that text, so the inline parse (half of markdown-it's time) is skipped."""


def _strings(draft: ModelDraft, value: Any, field: str) -> list[str]:
    """A card field that may be one string or a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        if ("README.md", field) in LIST_CAPS:
            path = str(draft.source.location / "README.md")
            check_list_length("README.md", field, len(value), path=path)
        kept = [
            str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)
        ]
        if len(kept) != len(value):
            draft.warn(f"README.md: `{field}` has entries that are not strings; kept {len(kept)}")
        return [k for k in kept if k.strip()]
    draft.warn(
        f"README.md: `{field}` is a {type(value).__name__}, expected a string or a list; skipped"
    )
    return []


def hub_id_from_reference(reference: str) -> str | None:
    """The hub id in a card reference (`org/name`, or its huggingface.co URL), else None.

    >>> hub_id_from_reference("https://huggingface.co/budecosystem/genz-70b")
    'budecosystem/genz-70b'
    >>> hub_id_from_reference("/content/drive/MyDrive/model") is None
    True
    """
    text = reference.strip()
    for prefix in _HUB_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.split("/tree/")[0].rstrip("/")
    return text if is_hub_id(text) else None


def unclosed_front_matter(text: str) -> int | None:
    r"""The line a card's front matter opens on when no `---` line ever closes it, else None.

    >>> unclosed_front_matter("---\nlicense: mit\n# Model\n")
    1
    >>> unclosed_front_matter("\n---\nlicense: mit\n---\n# Model\n") is None
    True
    """
    stripped = text.lstrip()
    lines = stripped.splitlines()
    if not lines or lines[0].rstrip() != "---":
        return None
    if any(line.rstrip() == "---" for line in lines[1:]):
        return None
    return text[: len(text) - len(stripped)].count("\n") + 1


def _lone_surrogate(loaded: object) -> str | None:
    """A string of the front matter holding a UTF-16 surrogate (YAML's `"\\ud83d"` escape
    makes one: PyYAML does not pair them), walked once per node however often aliases repeat
    it."""
    stack, seen = [loaded], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _model_index_size(loaded: dict[str, Any], cap: int) -> int:
    """Results and metrics in `model-index`, counted only up to just over `cap` (YAML aliases
    can make a short file describe billions of them)."""
    count = 0
    entries = loaded.get("model-index")
    for entry in entries if isinstance(entries, list) else ():
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else ():
            metrics = result.get("metrics") if isinstance(result, dict) else None
            count += 1 + (len(metrics) if isinstance(metrics, list) else 0)
            if count > cap:
                return count
    return count


def parse_card(text: str, path: str) -> tuple[ModelCardData, str]:
    """Split a card into its `ModelCardData` and its Markdown body.

    This is `huggingface_hub.ModelCard`'s own parsing (its front-matter pattern and its
    `ModelCardData` class, which reads model-index into eval results), with PyYAML's C loader:
    the pure-Python loader it uses takes ~30 ms on a card with a large model-index.

    >>> data, body = parse_card("---\\nlicense: mit\\n---\\n# Hello", "README.md")
    >>> data.license, body.strip()
    ('mit', '# Hello')
    """
    # here, not at the top: `huggingface_hub.repocard` imports the Hub client (~0.3 s), which
    # every `modelkg` command and every query worker would pay for at start otherwise
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        return ModelCardData(), text
    first_line = text.count("\n", 0, match.start(2)) + 1
    try:
        loaded = yaml.load(match.group(2), Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + first_line}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelCardError(
            f"broken YAML front matter{where}: {problem}",
            path=path,
            field="front matter",
            expected="valid YAML between the two `---` lines",
            hint="fix the YAML (quote values that contain `:`, `#` or `[`)",
        ) from exc
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ModelCardError(
            f"the front matter is a YAML {type(loaded).__name__}",
            path=path,
            field="front matter",
            expected="a YAML mapping (key: value lines) between the two `---` lines",
        )
    broken = _lone_surrogate(loaded)
    if broken is not None:
        escaped = broken.encode("utf-8", "backslashreplace").decode()
        raise ModelCardError(
            f"a value holds a UTF-16 surrogate escape: {escaped[:60]!r}",
            path=path,
            field="front matter",
            expected="whole characters: YAML does not pair `\\ud83d\\ude00` escapes",
            hint="write the character itself, or one `\\U0001F600`-style escape",
        )
    cap = LIST_CAPS["README.md", "model-index results"]
    found = _model_index_size(loaded, cap.cap)
    if found > cap.cap:
        check_list_length("README.md", "model-index results", found, path=path)
    try:
        card_data = ModelCardData(
            **{str(k): v for k, v in loaded.items()}, ignore_metadata_errors=True
        )
    except (TypeError, ValueError) as exc:
        raise ModelCardError(
            f"unreadable card metadata: {exc}", path=path, field="front matter"
        ) from exc
    return card_data, text[match.end() :]


def read_model_card(draft: ModelDraft, text: str, file: str = "README.md") -> None:
    """Add what the card says to `draft`; the base models go to `draft.facts` for lineage."""
    path = str(draft.source.location / file)
    text = text.removeprefix("\ufeff")
    opened_on = unclosed_front_matter(text)
    if opened_on is not None:
        if set(draft.source.files) <= {file}:
            raise ModelCardError(
                f"the front matter opened on line {opened_on} is never closed, and the card is "
                "all there is of this model",
                path=path,
                field="front matter",
                expected="a line `---` after the YAML",
                hint="add a `---` line where the YAML ends (before the Markdown)",
            )
        draft.warn(
            f"{file}: the front matter opened on line {opened_on} is never closed (no `---` "
            "line after it), so none of it was read (license, tags, base model...); add the "
            "closing `---` line"
        )
    card_data, body = parse_card(text, path)
    data = vars(card_data)  # to_dict() deep-copies the whole model-index; reading needs no copy
    model = draft.model.iri
    for license_id in _strings(draft, data.get("license"), "license"):
        draft.add_value(model, MKG.license, license_id)
    license_id_other = data.get("license_name")
    if isinstance(license_id_other, str) and license_id_other:
        draft.add_value(model, MKG.license, license_id_other)
    for field, predicate in (("pipeline_tag", MKG.pipelineTag), ("library_name", MKG.libraryName)):
        values = _strings(draft, data.get(field), field)
        if values:
            draft.add_value(model, predicate, values[0])
            draft.facts[field] = values[0]
    for tag in _strings(draft, data.get("tags"), "tags"):
        draft.add_value(model, MKG.tag, tag)
    languages = data.get("language")
    if isinstance(languages, list):
        # YAML 1.1 reads the ISO code `no` (Norwegian) as false: the "Norway problem"
        languages = ["no" if item is False else item for item in languages]
    elif languages is False:
        languages = "no"
    for language in _strings(draft, languages, "language"):
        draft.add_value(model, MKG.language, language)
    for dataset in _strings(draft, data.get("datasets"), "datasets"):
        dataset_id = hub_id_from_reference(dataset)
        if dataset_id is None:
            draft.warn(f"README.md: dataset `{dataset}` is not a hub dataset id; skipped")
            continue
        node = draft.ids.dataset_iri(dataset_id)
        draft.add(model, MKG.trainedOn, node)
        draft.add(node, RDF.type, SCHEMA.Dataset)
        draft.add_value(node, SCHEMA.name, dataset_id)
    bases: list[str] = []
    for reference in _strings(draft, data.get("base_model"), "base_model"):
        base = hub_id_from_reference(reference)
        if base is None:
            draft.warn(f"README.md: base_model `{reference}` is not a hub id; no lineage recorded")
        else:
            bases.append(base)
    draft.facts["card_base_models"] = tuple(bases)
    relation = data.get("base_model_relation")
    if relation is not None:
        if relation in BASE_MODEL_RELATIONS:
            draft.facts["card_relation"] = relation
        else:
            draft.warn(
                f"README.md: base_model_relation `{relation}` is not one of "
                f"{', '.join(BASE_MODEL_RELATIONS)}; inferred it the way the Hub does"
            )
    _read_eval_results(draft, card_data)
    if "model-index" in text[: text.find("\n---", 4) + 1] and card_data.eval_results is None:
        draft.warn("README.md: `model-index` could not be read as evaluation results; skipped")
    description = _description(body)
    if description:
        draft.add_value(model, MKG.description, description)
    blocks = _BLOCKS.parse(body)  # once for both sections
    for predicate, heading in ((MKG.intendedUse, _INTENDED_USE), (MKG.limitations, _LIMITATIONS)):
        section = _section(blocks, heading)
        if section:
            draft.add_value(model, predicate, section)


def _read_eval_results(draft: ModelDraft, card_data: ModelCardData) -> None:
    for index, result in enumerate(card_data.eval_results or []):
        node = draft.node("evaluation", str(index))
        draft.add(draft.model.iri, MKG.hasEvaluation, node)
        draft.add(node, RDF.type, MKG.EvaluationResult)
        for attribute, predicate in (
            ("task_type", MKG.taskType),
            ("dataset_name", MKG.datasetName),
            ("dataset_type", MKG.datasetType),
            ("dataset_split", MKG.datasetSplit),
            ("metric_type", MKG.metricType),
            ("metric_name", MKG.metricName),
        ):
            value = getattr(result, attribute, None)
            if value is not None:
                draft.add_value(node, predicate, str(value))
        value = result.metric_value
        if isinstance(value, int | float) and not isinstance(value, bool):
            draft.add_value(node, MKG.metricValue, float(value))
        elif value is not None:
            draft.add_value(node, MKG.metricValue, str(value))


def _section(tokens: list[Token], heading: re.Pattern[str], limit: int = 600) -> str:
    r"""The prose under the first heading `heading` matches (its own and its subsections'
    paragraphs and list items, up to `limit` characters), in a card's blocks as markdown-it
    parsed them (`_BLOCKS`).

    >>> card = "# M\n## Intended uses & limitations\nSort reviews.\n\n## Training\nx"
    >>> _section(_BLOCKS.parse(card), _INTENDED_USE)
    'Sort reviews.'
    """
    level: int | None = None
    texts: list[str] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            depth = int(token.tag[1:])
            if level is not None and depth <= level:
                break
            if level is None and heading.search(tokens[index + 1].content.strip()):
                level = depth
            continue
        if level is None or token.type != "inline" or tokens[index - 1].type == "heading_open":
            continue
        cleaned = " ".join(_MARKDOWN_NOISE.sub(lambda m: m.group(1) or "", token.content).split())
        if cleaned and cleaned.strip("[]. ").lower() != _PLACEHOLDER:
            texts.append(cleaned)
    text = " ".join(texts)
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _description(body: str, limit: int = 600) -> str:
    """The first prose paragraph of the card body: what a person reads first."""
    in_code = False
    paragraph: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if not stripped or stripped.startswith(("#", "|", "<!--", "---", "- ", "* ", ">")):
            if paragraph:
                break
            continue
        cleaned = _MARKDOWN_NOISE.sub(lambda m: m.group(1) or "", stripped).strip()
        if cleaned:
            paragraph.append(cleaned)
    text = " ".join(paragraph)
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
