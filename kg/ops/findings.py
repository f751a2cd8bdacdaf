"""What `modelkg doctor` reports: findings, each with its severity, what, where, and the exact
command that fixes it; and the report that gathers them.

A finding stands for one kind of damage, however many models it touches (`count`, with the
first few named in `items`): at 100,000 models a line per model would hide the point.

>>> finding = Finding("inferred-missing", "warning", "2 model(s) have no inferred graph",
...                   "/srv/kg", "modelkg reason --store /srv/kg", count=2, fixable=True)
>>> Report("/srv/kg", (finding,), {"models": 3}).as_dict()["findings"][0]["fix"]
'modelkg reason --store /srv/kg'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

__all__ = ["ITEMS_SHOWN", "Check", "Finding", "Report", "Severity"]

Severity = Literal["error", "warning"]
"""error: the store cannot be used as it is (it does not open, or holds invalid data);
warning: derived data (inferences, sizes, the index) out of step, rebuilt by a fix."""

Check = Literal[
    "store-missing",
    "store-unopenable",
    "store-cut-off",
    "vocabulary",
    "ingest-format",
    "shacl",
    "inferred-missing",
    "inferred-stale",
    "size-missing",
    "index-unreadable",
    "index-out-of-step",
    "catalog",
    "count-cache",
    "orphans",
    "unfinished",
]

ITEMS_SHOWN = 20
"""How many of a finding's models or graphs are named (the count says how many there are)."""


@dataclass(frozen=True)
class Finding:
    """One kind of damage found (module docstring)."""

    check: Check
    severity: Severity
    what: str
    where: str
    fix: str
    """the exact command that fixes it"""
    count: int = 1
    fixable: bool = False
    """`modelkg doctor --fix` repairs it"""
    items: tuple[str, ...] = ()

    @property
    def colour(self) -> str:
        return "red" if self.severity == "error" else "yellow"


@dataclass(frozen=True)
class Report:
    """Every finding about one store, and what was looked at."""

    location: str
    findings: tuple[Finding, ...]
    checked: dict[str, int] = field(default_factory=dict)
    """what was counted on the way: models, graphs validated, index entries, ..."""
    notes: tuple[str, ...] = ()
    """facts worth saying that are not damage (no vector index built yet, ...)"""

    @property
    def healthy(self) -> bool:
        return not self.findings

    @property
    def summary(self) -> str:
        counted = ", ".join(f"{value:,} {key}" for key, value in self.checked.items())
        return "; ".join(part for part in (counted, *self.notes) if part) or self.location

    def as_dict(self) -> dict[str, object]:
        return {
            "store": self.location,
            "healthy": self.healthy,
            "checked": dict(self.checked),
            "notes": list(self.notes),
            "findings": [asdict(finding) for finding in self.findings],
        }
