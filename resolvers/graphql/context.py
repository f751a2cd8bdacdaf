"""What every GraphQL resolver reaches: the app's services (store, settings, search, the
compatibility index) and per-request DataLoaders.

The loaders batch by model IRI: all the `tasks` fields of one page become one SPARQL query
(`kg.models.records`), so cost follows the number of fields asked for, not of models shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from codegen.interface import ModelInterface, describe_each
from kg.compat.index import CompatIndex
from kg.errors import CodegenError
from kg.lifecycle.links import runs_of_models
from kg.models import records
from kg.store.base import ModelStore
from resolvers.services import Services
from resolvers.threads import run_in_worker
from resolvers.update import check_writes

__all__ = ["GraphQLContext"]

T = TypeVar("T")


def _loader(
    store: ModelStore,
    read: Callable[[ModelStore, Sequence[str]], Mapping[str, T]],
    default: Callable[[], T],
) -> DataLoader[str, T]:
    async def load(keys: list[str]) -> list[T]:
        found = await run_in_worker(read, store, keys)
        return [found[key] if key in found else default() for key in keys]

    return DataLoader(load_fn=load)


class GraphQLContext(BaseContext):
    """Per request: the store, settings, loaders, and the count of store queries made."""

    def __init__(self, shared: Services) -> None:
        super().__init__()
        store = shared.store
        self.services = shared
        self.store = store
        self.settings = shared.settings
        self.records: DataLoader[str, records.ModelRecord | None] = _loader(
            store, records.load_records, lambda: None
        )
        self.tasks: DataLoader[str, list[records.TaskRef]] = _loader(
            store, records.load_tasks, list
        )
        self.primary_task: DataLoader[str, records.PrimaryTaskRef | None] = _loader(
            store, records.load_primary_tasks, lambda: None
        )
        self.io: DataLoader[str, tuple[list[records.DataTypeRef], list[records.DataTypeRef]]] = (
            _loader(store, records.load_io, lambda: ([], []))
        )
        self.bases: DataLoader[str, list[tuple[str, str, str]]] = _loader(
            store, lambda s, k: records.load_lineage(s, k, derived=False), list
        )
        self.derived: DataLoader[str, list[tuple[str, str, str]]] = _loader(
            store, lambda s, k: records.load_lineage(s, k, derived=True), list
        )
        self.parts: DataLoader[str, list[records.PartRef]] = _loader(
            store, records.load_parts, list
        )
        self.by_name: DataLoader[str, str | None] = _loader(
            store, records.find_models, lambda: None
        )
        self.runs_of: DataLoader[str, list[str]] = _loader(store, runs_of_models, list)

        async def describe_batch(iris: list[str]) -> list[ModelInterface | CodegenError]:
            return await run_in_worker(describe_each, store, iris)

        self.interfaces: DataLoader[str, ModelInterface] = DataLoader(load_fn=describe_batch)

    def writable(self) -> GraphQLContext:
        """This context, once the request's bearer token allows writes (`check_writes`: 401
        or 403 otherwise): what every mutation that writes asks first."""
        request = self.request
        check_writes(self.settings, request.headers.get("authorization") if request else None)
        return self

    async def compat(self) -> CompatIndex:
        """The compatibility index (built once per store generation, off the event loop)."""
        return await run_in_worker(self.services.compat.get, self.store)
