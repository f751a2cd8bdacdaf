"""The TBox closure ships beside the ontology, so no process spends ~1.5 s on owlrl at start;
and an ontology edited since the file was written is never answered from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.reason import tbox


@pytest.fixture
def closure_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """`tbox_closure` reading its shipped file from a temporary path, its cache cleared."""
    path = tmp_path / "tbox-closure.nt"
    monkeypatch.setattr(tbox, "CLOSURE_FILE", path)
    tbox.tbox_closure.cache_clear()
    yield path
    tbox.tbox_closure.cache_clear()


def test_the_shipped_closure_is_what_owlrl_entails_from_the_ontology_today() -> None:
    assert not tbox.is_stale(), (
        f"{tbox.CLOSURE_FILE} is stale: the ontology changed; run `{tbox.REGENERATE_COMMAND}`"
    )
    assert {q.triple for q in tbox.tbox_closure()} == set(tbox.compute_closure())


def test_a_file_stamped_with_the_current_ontology_is_read_not_recomputed(
    closure_file: Path,
) -> None:
    computed = tbox.compute_closure()
    tbox.write_closure(closure_file)
    text = closure_file.read_text().splitlines()
    closure_file.write_text("\n".join(text[:-1]) + "\n")  # one triple fewer, stamp intact

    assert len(tbox.tbox_closure()) == len(computed) - 1


def test_a_file_from_another_version_of_the_ontology_is_ignored(closure_file: Path) -> None:
    tbox.write_closure(closure_file)
    stamp, *triples = closure_file.read_text().splitlines()
    closure_file.write_text("\n".join([stamp[:-8] + "00000000", *triples[:3]]) + "\n")

    assert {q.triple for q in tbox.tbox_closure()} == set(tbox.compute_closure())
    assert tbox.is_stale(closure_file)


def test_check_says_how_to_regenerate_a_stale_file(
    closure_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closure_file.write_text("# not a closure\n")

    assert tbox.main(["--check"]) == 1
    assert "python -m kg.reason.tbox" in capsys.readouterr().err
    assert tbox.main([]) == 0
    assert tbox.main(["--check"]) == 0
