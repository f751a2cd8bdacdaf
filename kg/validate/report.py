"""Validation results as values, whichever engine produced them.

A result names the focus node, the property path, the offending value, the severity and a
message; `locate` adds the file and the source key when the value came from a parameter
setting, so a user reads `config.json: field n_embd` rather than an IRI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Literal

__all__ = ["Severity", "ValidationResult", "show_value", "verdict_key"]

Severity = Literal["Violation", "Warning", "Info"]


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result."""

    focus: str
    path: str | None
    value: str | None
    severity: Severity
    message: str
    component: str
    """the SHACL constraint component's local name, e.g. MinCountConstraintComponent"""
    source_file: str | None = None
    source_key: str | None = None

    def located(self, source_file: str | None, source_key: str | None) -> ValidationResult:
        """This result with the file and key the value was read from."""
        return replace(self, source_file=source_file, source_key=source_key)

    def describe(self) -> str:
        """One line a user can act on."""
        where = ""
        if self.source_file:
            where = (
                f"{self.source_file}: field `{self.source_key}`: "
                if self.source_key
                else f"{self.source_file}: "
            )
        prop = f" {_short(self.path)}" if self.path else ""
        value = f" (value {self.value})" if self.value is not None else ""
        return f"{self.severity.lower()}: {where}{self.message}{value} [{_short(self.focus)}{prop}]"


_NUMERIC = frozenset(
    f"http://www.w3.org/2001/XMLSchema#{name}"
    for name in ("integer", "decimal", "double", "float", "boolean")
)


def show_value(lexical: str, *, datatype: str | None, literal: bool) -> str:
    """An offending value as a user reads it: numbers bare, text quoted, IRIs as they are.

    >>> show_value("-4", datatype="http://www.w3.org/2001/XMLSchema#integer", literal=True)
    '-4'
    >>> show_value("RefinedWeb", datatype=None, literal=True)
    '"RefinedWeb"'
    """
    if not literal or datatype in _NUMERIC:
        return lexical
    return json.dumps(lexical, ensure_ascii=False)


def _short(iri: str) -> str:
    for prefix, ns in (
        ("mkg:", "https://w3id.org/modelkg/ontology#"),
        ("schema:", "https://schema.org/"),
        ("hf:", "https://huggingface.co/"),
    ):
        if iri.startswith(ns):
            return prefix + iri[len(ns) :]
    return iri


def verdict_key(result: ValidationResult) -> tuple[str, str | None, str, str]:
    """What two engines must agree on: focus node, path, constraint component and severity."""
    return (result.focus, result.path, result.component, result.severity)
