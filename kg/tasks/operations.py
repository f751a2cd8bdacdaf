"""The operations a background task runs: each calls the kg function a command would, with the
task's `Reporter` as its progress callbacks, and returns what it did as JSON.

Arguments arrive checked by the network layer (paths under the server's allowed roots, types
and bounds); each operation still reads them defensively, so a Python caller gets a clear
`InputError` rather than a `KeyError`. Which operations exist is data
(`ontology/background_tasks.ttl`); this module binds each code to its function, and a test
keeps the two in step.

>>> import tempfile, threading
>>> from kg.store import open_store
>>> from kg.tasks.book import TaskBook
>>> from kg.tasks.progress import Reporter
>>> store = open_store(tempfile.mkdtemp() + "/kg")
>>> book = TaskBook(store)
>>> task = book.start(book.create("ingest", {"paths": ["examples/models/gpt2-style-lm"]}).id)
>>> done = OPERATIONS["ingest"](OperationContext(store), task.arguments,
...                             Reporter(book, task.id, threading.Event()))
>>> len(done["ingested"]), done["rejected"]
(1, [])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kg.errors import InputError, UsageError
from kg.ingest.register import IndexSync, Registration, register
from kg.ingest.sources import Discovery
from kg.reason.run import reason
from kg.tasks.progress import Cancelled, Reporter

if TYPE_CHECKING:
    from kg.search.service import SearchService
    from kg.store.base import ModelStore

__all__ = ["OPERATIONS", "Operation", "OperationContext"]


@dataclass(frozen=True)
class OperationContext:
    """What operations reach besides their arguments: the store, and the server's own way to
    keep its search index in step after an ingest (None: the index on disk is synced)."""

    store: ModelStore
    sync_index: IndexSync | None = None
    search_service: Callable[[], SearchService] | None = None
    """the search service an index rebuild rebuilds (None: one made for the store)"""
    stores: Mapping[str, str] = field(default_factory=dict)
    """the stores a migration may copy into, by the name a client gives (`--migrate-to`)"""
    ingest_roots: Sequence[str] = ()
    """the folders an ingest may read (`--ingest-root`): a file linking out of them is
    refused (`kg.ingest.sources.confine`); empty: anywhere (a Python caller's own folders)"""


Operation = Callable[[OperationContext, Mapping[str, Any], Reporter], dict[str, Any]]
"""(context, arguments, reporter) -> the result, as JSON."""


def _paths(arguments: Mapping[str, Any]) -> list[str]:
    paths = arguments.get("paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise InputError(
            "name at least one folder to ingest",
            field="arguments.paths",
            expected="a non-empty list of paths",
        )
    return paths


SLICE = 8
"""Sources registered per write in a task's ingest (not `--strict`): a cancel takes effect at
the end of the slice that runs, and readers see the models of each slice as it lands."""


def ingest_operation(
    context: OperationContext, arguments: Mapping[str, Any], reporter: Reporter
) -> dict[str, Any]:
    """Register the models under `paths` (`kg.ingest.register`, as the ingest endpoint does),
    `SLICE` sources per write.

    A cancel stops it at the end of a slice: every model written is whole, with its inferred
    facts, and the models built on them are re-derived; the sources not reached are left, and
    starting the same task again skips what was written (unchanged) and goes on. A `strict`
    ingest is one write, all or nothing: a cancel takes it all back."""
    from kg.ingest.register import sync_index_on_disk
    from kg.ingest.sources import count_sources, walk

    store = context.store
    strict = bool(arguments.get("strict", False))
    paths = _paths(arguments)
    total = count_sources(paths)
    reporter.total(total)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        reporter.count(count)

    reporter.say("reading and writing models")
    sync = context.sync_index or sync_index_on_disk(store)
    result: dict[str, Any] = {
        "ingested": [],
        "updated": [],
        "unchanged": [],
        "rejected": [],
        "warnings": [],
        "notes": [],
        "triples": 0,
        "models": [],
        "notReached": 0,
    }
    # strict: one register over all the paths (its batches journaled, taken back together)
    parts: Iterable[Discovery | None] = [None] if strict else Discovery.slices(walk(paths), SLICE)
    for part in parts:
        summary = register(
            paths if part is None else [],
            store,
            discovery=part,
            strict=strict,
            sync_index=sync,
            workers=0,
            roots=context.ingest_roots,
            on_progress=advance,
            stop=reporter.stop_requested,
        )
        _merge(result, summary)
        if reporter.stop is not None:
            result["notReached"] = max(total - done, 0)  # as first counted: nothing read
            break
    stop = reporter.stop
    if stop is not None and result["notReached"]:
        kept = "nothing was written" if strict else "the models read before were written"
        raise Cancelled(
            f"{stop.message}: {result['notReached']} source(s) not reached; {kept}",
            stop.outcome,
            result=result,
        )
    return result


def _merge(result: dict[str, Any], done: Registration) -> None:
    summary = done.ingest
    result["ingested"] += summary.ingested
    result["updated"] += summary.updated
    result["unchanged"] += summary.unchanged
    result["rejected"] += [{"name": name, "reason": why} for name, why in summary.rejected]
    result["warnings"] += [{"name": name, "warning": text} for name, text in summary.warnings]
    result["notes"] += summary.notes
    result["triples"] += summary.triples
    result["models"] += summary.written


def reason_operation(
    context: OperationContext, arguments: Mapping[str, Any], reporter: Reporter
) -> dict[str, Any]:
    """Re-derive the inferred graphs (`kg.reason.run.reason`): all of them unless `full` is
    false. A cancel stops it between batches; the batches done are written, the rest keep
    their former inferences (a later `reason` re-derives what is stale)."""
    full = arguments.get("full", True)
    if not isinstance(full, bool):
        raise InputError("`full` must be true or false", field="arguments.full")
    store = context.store
    if full:
        reporter.total(store.count_models())
    reporter.say("re-deriving inferred facts")
    with store.writer():
        summary = reason(store, full=full, on_progress=reporter.advance)
    return {
        "derived": summary.derived,
        "unchanged": summary.unchanged,
        "removed": summary.removed,
        "facts": summary.facts,
        "rules": summary.rules,
    }


def index_rebuild_operation(
    context: OperationContext, arguments: Mapping[str, Any], reporter: Reporter
) -> dict[str, Any]:
    """Throw the search index away and embed every model again (`SearchService.rebuild`).
    A cancelled rebuild leaves no usable index: the next search (or `modelkg search`) builds
    it again."""
    del arguments  # none
    store = context.store
    if context.search_service is not None:
        service = context.search_service()
    else:
        from kg.search.embedder import EmbeddingService, available_models
        from kg.search.service import SearchService

        service = SearchService(store, EmbeddingService(available_models(store)))
    reporter.say("embedding every model")
    with store.writer():
        summary = service.rebuild(on_total=reporter.total, on_progress=reporter.advance)
    return {"embedded": summary.embedded, "removed": summary.removed, "rebuilt": True}


def migrate_operation(
    context: OperationContext, arguments: Mapping[str, Any], reporter: Reporter
) -> dict[str, Any]:
    """Copy the store into the one named `target` (`kg.store.migrate`; the names and stores are
    the operator's, never a client's path or URL), emptying it first when `replace` is true.
    The store's writer lock is held meanwhile, so the copy is of one moment (reads go on; writes
    wait). A cancel stops between batches and leaves a partial copy that says so in its journal
    (`modelkg doctor`): migrate again with `replace`."""
    target = arguments.get("target")
    if not isinstance(target, str) or target not in context.stores:
        offered = ", ".join(sorted(context.stores)) or "none (the server has no --migrate-to)"
        raise InputError(
            f"no migration target `{target}`",
            field="arguments.target",
            hint=f"the targets this server offers: {offered}",
        )
    replace = arguments.get("replace", False)
    if not isinstance(replace, bool):
        raise InputError("`replace` must be true or false", field="arguments.replace")
    from kg.store import open_store
    from kg.store.migrate import migrate

    reporter.say(f"copying the store into `{target}`")
    with open_store(context.stores[target]) as destination, context.store.writer():
        try:
            copied = migrate(
                context.store,
                destination,
                replace=replace,
                on_total=reporter.total,
                on_progress=reporter.advance,
            )
        except UsageError as exc:  # the target holds data: say how a task replaces it
            exc.hint = (
                f'start it again with "replace": true to empty `{target}` first '
                f"(modelkg tasks start migrate {target} --force)"
            )
            raise
    return {"target": target, "quads": copied.quads, "graphs": copied.graphs}


OPERATIONS: Mapping[str, Operation] = {
    "ingest": ingest_operation,
    "reason": reason_operation,
    "index-rebuild": index_rebuild_operation,
    "migrate": migrate_operation,
}
"""The core's operations of `ontology/background_tasks.ttl`, by code (code generation sits
above the core and is bound by the server that offers it)."""
