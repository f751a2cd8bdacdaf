"""`modelkg doctor`: is the store healthy, and if not, what exactly fixes it.

`diagnose` opens the store read-only (beside a running server too) and runs the checks of
`kg.ops.checks`: the store opens (a store whose creation was cut off, which RocksDB reports as
"Column family not found", is named as such: opening it for writing completes it); its
ontology and shapes are this ModelKG's; its model graphs were written with this ingest format
and pass the SHACL shapes; every model has a current inferred graph and, where its config can
be counted, a size graph; the vector index matches the store; the catalog matches the
installed transformers; the parameter-count cache can be used; no derived graph outlives its
model; no operation was cut off by a crash (`kg.store.journal`). Each finding names the
command that fixes it; `repair` runs the fixes `--fix` can run (the store's derived data: it
never rewrites a model graph).

>>> import tempfile
>>> where = tempfile.mkdtemp() + "/kg"
>>> diagnose(where).findings[0].check
'store-missing'
>>> from kg.store import open_store
>>> open_store(where).close()
>>> diagnose(where).healthy
True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kg.errors import StoreError
from kg.ops import checks
from kg.ops.backup import open_bounded
from kg.ops.findings import Finding, Report
from kg.store import ModelStore, open_store, store_location

__all__ = ["CHECKS", "diagnose", "repair"]

Check = Callable[[ModelStore, checks.Sources, dict[str, int]], list[Finding]]

CHECKS: tuple[Check, ...] = (
    checks.unfinished,
    checks.vocabulary,
    checks.ingest_format,
    checks.shacl,
    checks.inferred,
    checks.sizes,
    checks.orphans,
    checks.index,
    checks.catalog,
    checks.count_cache,
)
"""In the order their fixes run: a repair of a cut-off operation first, the index last (its
search texts are built from the inferred graphs)."""

CUT_OFF = "Column family not found"
"""RocksDB's words for a store whose creation was cut off before its column families were."""


def diagnose(location: str | None = None, *, shacl: bool = True) -> Report:
    """Every finding about the store at `location` (module docstring); `shacl=False` skips
    validating every model graph, the one check whose cost grows with the data."""
    where = store_location(location)
    opened = _open(where)
    if isinstance(opened, Finding):
        return Report(where, (opened,))
    found: list[Finding] = []
    checked: dict[str, int] = {}
    notes: list[str] = []
    with opened as store:
        checked["models"] = store.count_models()
        sources = checks.Sources.of(store)
        for check in CHECKS:
            if check is checks.shacl and not shacl:
                continue
            found.extend(check(store, sources, checked))
        if checked["models"] and "index entries" not in checked:
            notes.append("no vector index yet (the first `modelkg search` builds it)")
    return Report(where, tuple(found), checked, tuple(notes))


def _open(where: str) -> ModelStore | Finding:
    """The store, opened read-only; or the finding that says why it does not open."""
    if "://" not in where and not (Path(where).is_dir() and any(Path(where).iterdir())):
        return Finding(
            "store-missing",
            "error",
            "no store here",
            where,
            checks.fix_command("modelkg ingest PATH", where),
        )
    try:
        return open_bounded(where, read_only=True)
    except StoreError as exc:
        cause = str(exc.__cause__ or exc)
        if CUT_OFF in cause:
            return Finding(
                "store-cut-off",
                "error",
                f"the store's creation was cut off before it finished (RocksDB: {cause}); it "
                "holds no data yet, and opening it for writing completes it",
                where,
                checks.fix_command("modelkg doctor --fix", where),
                fixable=True,
            )
        return Finding(
            "store-unopenable",
            "error",
            f"the store does not open: {exc.message}",
            where,
            exc.hint or checks.fix_command("modelkg restore BACKUP --force", where),
        )


def repair(location: str | None, report: Report) -> list[str]:
    """Run the fixes of `report`'s fixable findings on the store at `location`; what was
    done, one line each."""
    where = store_location(location)
    wanted = {finding.check for finding in report.findings if finding.fixable}
    done: list[str] = []
    if not wanted:
        return done
    with open_store(where) as store:  # opening for writing completes a cut-off store and
        # brings the vocabulary up to date
        if wanted & {"store-cut-off", "vocabulary"}:
            done.append("opened the store for writing: its creation and vocabulary are complete")
        if "unfinished" in wanted:
            done.extend(_repair_unfinished(store))
        if "orphans" in wanted:
            gone = checks.orphan_graphs(store, checks.Sources.of(store))
            store.remove_graphs(gone)
            done.append(f"removed {len(gone):,} orphaned derived graph(s)")
        if wanted & {"inferred-missing", "inferred-stale"}:
            from kg.reason.run import reason

            summary = reason(store)
            done.append(f"derived the inferred graphs of {summary.derived:,} model(s)")
        if "size-missing" in wanted:
            from kg.compat.sizing import size_models

            sized = size_models(store)
            done.append(f"counted the parameters of {sized.counted:,} model(s)")
        if wanted & {"index-unreadable", "index-out-of-step"}:
            done.append(_sync_index(store))
    return done


def _repair_unfinished(store: ModelStore) -> list[str]:
    try:
        from kg.repair import repair as repair_journal
    except ImportError:  # a ModelKG without the journal's repairs
        return []
    lines = []
    for repaired in repair_journal(store):
        steps = ", ".join(repaired.steps) or "nothing to redo"
        left = f"; left: {repaired.left}" if repaired.left else ""
        lines.append(f"repaired a cut-off `{repaired.operation}` ({steps}){left}")
    return lines


def _sync_index(store: ModelStore) -> str:
    from kg.search.embedder import EmbeddingService, available_models
    from kg.search.service import SearchService

    service = SearchService(store, EmbeddingService(available_models(store)))
    summary = service.sync()
    return (
        f"synced the vector index: {summary.embedded:,} embedded, {summary.removed:,} removed"
        + (" (rebuilt)" if summary.rebuilt else "")
    )
