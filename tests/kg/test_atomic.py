"""A file written through `kg.atomic` is the old one or the new one, whole: a failed write
leaves the old file and no temporary behind, and writers at the same time never mix."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kg.atomic import replacing, write_atomically


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("yesterday")

    with pytest.raises(OSError, match="disk full"), replacing(target) as temporary:
        temporary.write_text("half of tod")
        raise OSError("disk full")

    assert target.read_text() == "yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_writers_at_the_same_time_each_leave_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    contents = [str(n) * 100_000 for n in range(8)]

    def write(text: str) -> None:
        for _ in range(20):
            write_atomically(target, text)
            assert target.read_text() in contents  # never two writers' bytes in one file

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, contents))

    assert target.read_text() in contents
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
