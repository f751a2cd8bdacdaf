"""An operator moves the registry from the embedded store to a SPARQL server and back: the
copy holds the same data, counted, and a store that already holds data is not overwritten
unless asked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, OxigraphServer
from tests.kg.store.test_remote import clear

Cli = Callable[..., CliResult]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "models"
DUMP = ("export", "-f", "nquads", "--no-timestamps")


def test_a_store_moves_to_a_sparql_server_and_back_unchanged(
    oxigraph_server: OxigraphServer, tmp_path: Path, cli: Cli
) -> None:
    clear(oxigraph_server)
    here, back = str(tmp_path / "kg"), str(tmp_path / "back")
    assert cli("ingest", EXAMPLES, "--store", here).code == 0

    there = cli("migrate", "--from", here, "--to", oxigraph_server.location)
    home = cli("migrate", "--from", oxigraph_server.location, "--to", back)

    assert there.code == home.code == 0, there.err + home.err
    assert "the counts match" in there.out
    original = cli(*DUMP, "--store", here).out
    assert original.strip()
    assert cli(*DUMP, "--store", oxigraph_server.location).out == original
    assert cli(*DUMP, "--store", back).out == original


def test_a_store_that_holds_data_is_refused_without_force(
    oxigraph_server: OxigraphServer, tmp_path: Path, cli: Cli
) -> None:
    clear(oxigraph_server)
    small, examples = str(tmp_path / "small"), str(tmp_path / "examples")
    assert cli("ingest", EXAMPLES / "gpt2-style-lm", "--store", small).code == 0
    assert cli("ingest", EXAMPLES, "--store", examples).code == 0
    assert cli("migrate", "--from", examples, "--to", oxigraph_server.location).code == 0
    before = cli(*DUMP, "--store", oxigraph_server.location).out

    refused = cli("migrate", "--from", small, "--to", oxigraph_server.location)

    assert refused.code == 2
    assert "already holds" in refused.err and "--force" in refused.err
    assert cli(*DUMP, "--store", oxigraph_server.location).out == before

    forced = cli("migrate", "--from", small, "--to", oxigraph_server.location, "--force")

    assert forced.code == 0, forced.err
    assert cli(*DUMP, "--store", oxigraph_server.location).out == cli(*DUMP, "--store", small).out
