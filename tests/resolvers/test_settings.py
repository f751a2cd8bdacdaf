"""The server's settings as an operator configures them: `MODELKG_*` variables, flags that win
over them, comma-separated lists, and a bad value that says which variable or flag it was."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from kg.errors import UsageError
from kg.sparql.bounds import Limits
from resolvers.settings import ServerSettings, flag_of, variable_of


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No `MODELKG_*` variable from the shell that runs the tests leaks into a story."""
    for name in ServerSettings.model_fields:
        monkeypatch.delenv(variable_of(name), raising=False)


def test_variables_configure_the_server_and_given_values_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELKG_PORT", "8123")
    monkeypatch.setenv("MODELKG_TOKEN", "s3cret")
    monkeypatch.setenv("MODELKG_WRITES", "off")
    monkeypatch.setenv("MODELKG_QUERY_TIMEOUT", "2.5")

    from_variables = ServerSettings.from_environment()
    assert from_variables.port == 8123
    assert from_variables.query_timeout == 2.5
    assert from_variables.token == "s3cret"
    assert not from_variables.writes_enabled  # a token, but writes switched off

    flags = ServerSettings.from_environment(port=9000, writes=True, token=None)
    assert flags.port == 9000  # the flag wins
    assert flags.writes_enabled  # --writes wins; no --token: the variable's token holds
    assert ServerSettings(port=9001).port == 9001  # the constructor reads them the same way


def test_unset_and_empty_variables_leave_the_safe_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELKG_PORT", "")  # `MODELKG_PORT= modelkg serve`: unset, as in sh
    settings = ServerSettings.from_environment()
    assert settings.port == 8000
    assert settings.token is None and not settings.writes_enabled
    assert settings.cors_origins == () and settings.ingest_roots == ()
    assert settings.workers == 1 and settings.query_workers == 0


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MODELKG_CORS_ORIGINS", "https://a.example, https://b.example",
         ("https://a.example", "https://b.example")),
        ("MODELKG_CORS_ORIGINS", "*", ("*",)),
        ("MODELKG_INGEST_ROOTS", "/srv/a,/srv/b", ("/srv/a", "/srv/b")),
        ("MODELKG_INGEST_ROOTS", " /srv/with space ,, ", ("/srv/with space",)),
    ],
)  # fmt: skip
def test_list_variables_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: tuple[str, ...]
) -> None:
    monkeypatch.setenv(variable, value)
    settings = ServerSettings.from_environment()
    assert getattr(settings, variable.removeprefix("MODELKG_").lower()) == expected


def test_repeated_flags_win_over_a_list_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELKG_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = ServerSettings.from_environment(cors_origins=["https://c.example"])
    assert settings.cors_origins == ("https://c.example",)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MODELKG_QUERY_TIMEOUT", "abc", "a number x>0"),
        ("MODELKG_QUERY_TIMEOUT", "inf", "a number x>0"),
        ("MODELKG_PORT", "70000", "a whole number x>=1, x<=65535"),
        ("MODELKG_WORKERS", "0", "a whole number x>=1"),
        ("MODELKG_MAX_QUERIES_PER_CLIENT", "two", "a whole number x>=1"),
        ("MODELKG_WRITES", "maybe", "true or false"),
    ],
)
def test_a_bad_variable_names_itself_and_what_it_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(UsageError) as caught:
        ServerSettings.from_environment()
    error = caught.value
    assert error.field == variable
    assert f"`{value}`" in error.message
    assert error.expected is not None and error.expected.startswith(expected)
    assert error.hint == f"fix or unset {variable}"


def test_a_bad_flag_names_the_flag_and_a_flag_overrides_a_bad_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(UsageError) as caught:
        ServerSettings.from_environment(workers=0)
    assert caught.value.field == "--workers"
    assert "as in --workers 1" in str(caught.value)

    monkeypatch.setenv("MODELKG_WORKERS", "none")
    assert ServerSettings.from_environment(workers=4).workers == 4  # the variable is not read


def test_workers_is_a_setting_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workers` / `MODELKG_WORKERS`: processes serving HTTP, at least one; not the SPARQL
    query workers."""
    monkeypatch.setenv("MODELKG_WORKERS", "3")
    settings = ServerSettings.from_environment()
    assert (settings.workers, settings.query_workers) == (3, 0)
    assert flag_of("workers").name == "--workers"
    with pytest.raises(pydantic.ValidationError):
        ServerSettings(workers=-1)


def test_the_derived_values_the_app_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = f"{tmp_path}/kg"
    read_only = ServerSettings(store=store)
    writer = ServerSettings(store=store, token="s3cret")
    assert read_only.sparql_limits == Limits(max_bytes=1024 * 1024, max_nesting=64)
    assert not read_only.writes_enabled and writer.writes_enabled
    assert not ServerSettings(store=store, token="s3cret", writes=False).writes_enabled
    # the cursor key survives a restart of the same store, and changes with the token
    assert ServerSettings(store=store).cursor_key == read_only.cursor_key
    assert writer.cursor_key != read_only.cursor_key
    # over a remote store, servers started from different folders accept each other's cursors
    remote = "sparql+http://127.0.0.1:7878"
    here = ServerSettings(store=remote).cursor_key
    monkeypatch.chdir(tmp_path)
    assert ServerSettings(store=remote).cursor_key == here


def test_settings_are_frozen_and_keep_the_token_out_of_logs() -> None:
    settings = ServerSettings(token="s3cret")
    with pytest.raises(pydantic.ValidationError):
        settings.port = 1  # type: ignore[misc]
    assert "s3cret" not in repr(settings)


def test_every_setting_is_declared_once_with_a_description_a_flag_and_a_variable() -> None:
    flags = [flag_of(name).name for name in ServerSettings.model_fields]
    assert len(set(flags)) == len(flags)
    for name, field in ServerSettings.model_fields.items():
        assert field.description, f"{name} has no description (it is the flag's --help)"
        assert variable_of(name) == f"MODELKG_{name.upper()}"
    assert flag_of("cors_origins").name == "--cors-origin"  # repeated, so singular
    assert flag_of("writes").name == "--writes/--no-writes"
