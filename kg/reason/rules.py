"""Load the inference rules: one SPARQL CONSTRUCT per `.rq` file under `ontology/rules/`.

A rule may declare a stratum with a comment line `# modelkg:stratum N` (default 0): the rules of
a stratum run to a fixpoint before those of the next, so a rule that chooses among facts
("the task of highest precedence", primary-task.rq) sees every fact it chooses among.

A rule that does not parse fails loudly at load with its file, line and column; a file that is
an update (INSERT, DELETE, LOAD, DROP, ...) is refused, so no rule can write into a source graph.

Each rule knows what its WHERE reads (`Rule.reads`: the predicates and classes its patterns
can match, from the SPARQL parser's algebra, `kg.sparql.parse`): a round of reasoning runs a
rule again only when the facts the last round added could change its answer.

>>> rules = load_rules()
>>> "task-from-pipeline-tag" in {rule.name for rule in rules}
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pyoxigraph import NamedNode, QueryTriples, Store

from kg.errors import ModelKGError
from kg.sparql.parse import parse_query
from kg.sparql.request import READS_ANYTHING, Reads
from ontology.files import ONTOLOGY_DIR

__all__ = ["RULES_DIR", "RULE_NAMESPACE", "Rule", "RuleError", "load_rules"]

RULES_DIR = ONTOLOGY_DIR / "rules"
RULE_NAMESPACE = "https://w3id.org/modelkg/rules/"
_STRATUM = re.compile(r"^#\s*modelkg:stratum\s+(\d+)\s*$", re.MULTILINE)


class RuleError(ModelKGError):
    """A rule file that cannot be used: bad syntax, or not a CONSTRUCT."""


@dataclass(frozen=True)
class Rule:
    """One inference rule."""

    name: str
    path: Path
    sparql: str
    stratum: int = 0
    reads: Reads = READS_ANYTHING
    """what its WHERE's patterns can match (by default anything: run it every round)"""

    @property
    def iri(self) -> NamedNode:
        """The rule's IRI, which explanations cite (`mkgr:task-from-pipeline-tag`)."""
        return NamedNode(RULE_NAMESPACE + self.name)


def _position(exc: Exception) -> tuple[int | None, int | None]:
    match = re.search(r"error at (\d+):(\d+)", str(exc))
    return (int(match.group(1)), int(match.group(2))) if match else (None, None)


def parse_rule(path: Path) -> Rule:
    """Check one rule file and return it; raises `RuleError` naming the file and position."""
    text = path.read_text(encoding="utf-8")
    probe = Store()
    try:
        result = probe.query(text)
    except SyntaxError as exc:
        try:
            probe.update(text)
        except SyntaxError:
            line, column = _position(exc)
            where = f"line {line}, column {column}: " if line else ""
            raise RuleError(
                f"invalid SPARQL at {where}{str(exc).split(': ', 1)[-1]}",
                path=str(path),
                hint="fix the rule; every rule is a SPARQL CONSTRUCT",
            ) from exc
        raise RuleError(
            "the rule is an update; rules may only CONSTRUCT (they never write into a graph)",
            path=str(path),
            expected="a SPARQL CONSTRUCT query",
        ) from None
    if not isinstance(result, QueryTriples):
        raise RuleError(
            f"the rule is a {type(result).__name__} query",
            path=str(path),
            expected="a SPARQL CONSTRUCT query",
        )
    found = _STRATUM.search(text)
    try:
        reads = parse_query(text, prefixes={}, with_reads=True).reads
    except ModelKGError:  # the engine runs it, the analyzer cannot read it: run it every round
        reads = READS_ANYTHING
    return Rule(path.stem, path, text, int(found.group(1)) if found else 0, reads)


@cache
def load_rules(directory: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every rule in `directory`, sorted by name.

    >>> [rule.name for rule in load_rules() if rule.stratum > 0]
    ['primary-task']
    """
    return tuple(parse_rule(path) for path in sorted(directory.glob("*.rq")))
