"""Just enough of SPARQL's lexical grammar to look for keywords and IRIs in a request's text:
strings and comments blanked out so a keyword inside them is not mistaken for one.

>>> code_of('SELECT * WHERE { ?s ?p "SERVICE" } # LOAD')
'SELECT * WHERE { ?s ?p   }  '
>>> iris_in("PREFIX g: <urn:g/> DROP GRAPH <urn:x>")
['urn:g/', 'urn:x']
"""

from __future__ import annotations

import re

__all__ = ["code_of", "iris_in", "without_iris"]

_STRINGS_AND_COMMENTS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|#[^\n]*'
)
_IRI = re.compile(r"<([^<>\s]*)>")


def code_of(text: str) -> str:
    """`text` with its string literals and comments blanked out."""
    return _STRINGS_AND_COMMENTS.sub(" ", text)


def iris_in(text: str) -> list[str]:
    """The IRIs written in `text`'s code (not inside strings or comments)."""
    return _IRI.findall(code_of(text))


def without_iris(text: str) -> str:
    """`text`'s code with IRIs blanked out too: what is left are keywords, names, variables."""
    return _IRI.sub(" ", code_of(text))
