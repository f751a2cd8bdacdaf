"""Reads for one answer go side by side over a SPARQL server, and in turn, on the caller's
thread, in process: a REST model page's eight reads overlap their round trips to Oxigraph."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kg.store import ModelStore, open_store
from kg.store.embedded import QUERY_TALLY
from kg.store.side_by_side import side_by_side
from tests.conftest import SparqlServer

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def count_rows(store: ModelStore) -> int:
    """A read that returns plain values: pyoxigraph's results belong to the thread that
    made them."""
    return len(list(store.select(COUNT)))


@pytest.fixture
def served_store(oxigraph_server: SparqlServer) -> Iterator[ModelStore]:
    oxigraph_server.clear()
    with open_store(oxigraph_server.location) as store:
        yield store


def test_reads_over_a_sparql_server_run_at_the_same_time(served_store: ModelStore) -> None:
    both_started = threading.Barrier(2, timeout=10)  # passed only by two reads running at once

    def count_after_meeting() -> int:
        both_started.wait()
        return count_rows(served_store)

    with side_by_side(served_store) as read:
        first, second = read(count_after_meeting), read(count_after_meeting)

    assert first.result() == second.result() == 1


def test_reads_in_process_run_in_turn_on_the_callers_thread(tmp_path: object) -> None:
    with open_store(str(tmp_path)) as store, side_by_side(store) as read:
        threads = [read(threading.get_ident) for _ in range(3)]

    assert {t.result() for t in threads} == {threading.get_ident()}


def test_a_request_counts_the_queries_its_reads_sent_side_by_side(
    served_store: ModelStore,
) -> None:
    tally = [0]
    token = QUERY_TALLY.set(tally)
    try:
        with side_by_side(served_store) as read:
            for _ in range(5):
                read(count_rows, served_store)
    finally:
        QUERY_TALLY.reset(token)

    assert tally == [5]


def test_a_failed_read_fails_the_answer_after_the_others_finished(
    served_store: ModelStore,
) -> None:
    finished: list[str] = []

    def read_then_note() -> None:
        count_rows(served_store)
        finished.append("read")

    def broken_read() -> int:
        return len(list(served_store.select("SELECT WHERE {")))

    with side_by_side(served_store) as read:
        broken = read(broken_read)
        read(read_then_note)

    assert finished == ["read"]  # the block waited for it
    with pytest.raises(Exception, match="(?i)sparql|syntax|parse"):
        broken.result()
