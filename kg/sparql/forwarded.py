"""Client SPARQL queries over a remote store: the SPARQL server there runs them.

With the embedded store, a client's query runs in a worker process that can be killed
(`kg.sparql.isolation`). With a remote store (`kg.store.remote`) the query already runs in
another process, the SPARQL server's, whose own limits bound it (Oxigraph: `--timeout-s`): here
it is sent from a thread, waited for at most the timeout (then 503), and the answer is
re-serialized in the media type the client asked for, within the result cap. The same
per-client bounds apply (`Admission`). What the remote store cannot do yet: a dataset given by
the request (`default-graph-uri`, `named-graph-uri`) is refused with a clear message.

>>> import tempfile, asyncio
>>> from kg.store.embedded import EmbeddedStore
>>> queries = ForwardedQueries(EmbeddedStore.open(tempfile.mkdtemp() + "/kg"), timeout=30)
>>> asyncio.run(queries.run("ASK {}", media_type="application/sparql-results+json",
...     client="doc")).body
b'{"head":{},"boolean":true}'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from kg.errors import ModelKGError, QueryError, QueryKilledError
from kg.sparql.isolation import Admission
from kg.sparql.worker import Outcome, serialized

if TYPE_CHECKING:
    from kg.store.base import ModelStore

__all__ = ["ForwardedQueries"]


class ForwardedQueries:
    """Runs already guarded queries on `store`'s own engine, bounded like the query workers."""

    def __init__(
        self,
        store: ModelStore,
        *,
        timeout: float,
        max_per_client: int = 4,
        max_waiting: int = 256,
        max_result_bytes: int = 50 * 1024 * 1024,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.max_result_bytes = max_result_bytes
        self._admission = Admission(max_per_client, max_waiting)

    async def run(
        self,
        text: str,
        *,
        media_type: str,
        client: str,
        base_iri: str | None = None,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> Outcome:
        """The query's answer serialized as `media_type`; `QueryKilledError` at the timeout."""
        if default_graphs or named_graphs is not None:
            return Outcome(
                "bad_query",
                message="a dataset in the request (default-graph-uri, named-graph-uri) is not "
                "supported over a remote store yet: name the graphs in the query (FROM, GRAPH)",
            )
        self._admission.admit(client)
        try:
            with anyio.fail_after(self.timeout):
                return await anyio.to_thread.run_sync(
                    self._answer, text, media_type, base_iri, abandon_on_cancel=True
                )
        except TimeoutError:
            raise QueryKilledError(
                f"the query did not finish within {self.timeout:g} s; the store's server "
                "bounds it with its own timeout",
                timed_out=True,
            ) from None
        finally:
            self._admission.release(client)

    def _answer(self, text: str, media_type: str, base_iri: str | None) -> Outcome:
        try:
            return serialized(
                self.store.query(text, base_iri=base_iri), media_type, self.max_result_bytes
            )
        except QueryError as exc:
            return Outcome("bad_query", message=str(exc))
        except ModelKGError as exc:
            return Outcome("store_error", message=str(exc))

    def close(self) -> None:
        """Nothing to release: the store is closed by its owner."""
