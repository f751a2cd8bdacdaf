"""The SPARQL analyzer runs in an embedded V8, whose threads do not survive a fork: a process
forked after using it gets a clear error at once, never a call that waits forever."""

from __future__ import annotations

import multiprocessing

import pytest

from kg.sparql.parse import parse_query


def _analyze_in_child(queue: multiprocessing.Queue[str]) -> None:
    try:
        parse_query("SELECT ?s WHERE { ?s ?p ?o }")
        queue.put("answered")
    except RuntimeError as exc:
        queue.put(str(exc))


def test_a_forked_child_is_told_it_cannot_analyze_instead_of_hanging() -> None:
    parse_query("ASK { ?s ?p ?o }")  # this process has used V8
    fork = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = fork.Queue()
    child = fork.Process(target=_analyze_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung in the SPARQL analyzer")

    assert "forked" in queue.get(timeout=5)
