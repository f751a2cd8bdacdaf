"""A GraphQL complexity limit: estimate what a query costs before running it.

Each field costs 1; a field with a `first` argument (a page, a compat lookup) multiplies what is
under it by `first` (20 when left out; the largest page, 100, when it is a variable, since
validation runs before variables are known and a limit must not be dodged with one). Fragments
are followed. A query over the limit is refused at validation with its cost, the limit, and how
to bring it down; nothing runs.
graphql-core has no cost analysis and strawberry limits only depth, aliases and tokens, so this
is the one rule ModelKG adds.

>>> from graphql import parse
>>> estimate_cost(parse("{ models(first: 50) { edges { node { id tasks { id } } } } }"))
251
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.validation import ASTValidationRule, ValidationRule

__all__ = ["DEFAULT_PAGE", "complexity_rule", "estimate_cost"]

DEFAULT_PAGE = 20
LARGEST_PAGE = 100


def _first(field: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return int(given) if isinstance(given, int) else LARGEST_PAGE
    return None


def _cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    seen: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _cost(selection.selection_set, fragments, variables, seen)
            first = _first(selection, variables)
            if first is None and any(a.name.value == "first" for a in selection.arguments or ()):
                first = DEFAULT_PAGE
            total += 1 + inner * max(first if first is not None else 1, 1)
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, fragments, variables, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                total += _cost(fragment.selection_set, fragments, variables, seen | {name})
    return total


def estimate_cost(document: DocumentNode, variables: dict[str, Any] | None = None) -> int:
    """The cost of the most expensive operation in `document`."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return max(
        (
            _cost(d.selection_set, fragments, variables or {}, frozenset())
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        ),
        default=0,
    )


def complexity_rule(limit: int) -> type[ASTValidationRule]:
    """A validation rule refusing documents whose estimated cost is over `limit`."""

    class ComplexityRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: object) -> None:
            cost = estimate_cost(node)
            if cost > limit:
                self.report_error(
                    GraphQLError(
                        f"query complexity {cost} is over this server's limit of {limit}",
                        extensions={
                            "code": "too_complex",
                            "field": None,
                            "hint": "ask for smaller pages (`first`) or fewer nested fields",
                        },
                    )
                )

    return ComplexityRule
