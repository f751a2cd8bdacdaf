"""Client values as SPARQL terms, validated: what lets a value into a query's text.

A value from a client (a model id, a name, a filter) never becomes SPARQL by pasting: it becomes
a pyoxigraph term first (`NamedNode` checks that an IRI is an IRI, `Literal` holds any text),
and the term writes itself in N-Triples syntax, escapes included. A value that is not a valid
IRI is no IRI at all: `iri_term` says None, and the caller treats it as not found. Where one
value fills one variable, bind it with `substitutions=` instead.

>>> iri_term("https://huggingface.co/openai-community/gpt2")
'<https://huggingface.co/openai-community/gpt2>'
>>> iri_term("http://a> } SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } {<http://b") is None
True
>>> string_term('a "quoted"\\nname')
'"a \\\\"quoted\\\\"\\\\nname"'
"""

from __future__ import annotations

from pyoxigraph import Literal, NamedNode

__all__ = ["iri_term", "string_term"]


def iri_term(value: str) -> str | None:
    """`<value>`, when `value` is a valid IRI; else None."""
    try:
        return str(NamedNode(value))
    except (ValueError, UnicodeError):
        return None


def string_term(value: str) -> str:
    """`value` as a SPARQL string literal (text that is not valid Unicode is repaired)."""
    try:
        return str(Literal(value))
    except UnicodeError:
        return str(Literal(value.encode("utf-8", "replace").decode("utf-8")))
