"""Server settings, each declared once: its type, default, bounds and description, read from
`MODELKG_*` environment variables (pydantic-settings) and offered as a `modelkg serve` flag
(`resolvers.cli` derives the options from these fields). Flags win over variables, variables
over the defaults.

Safe by default: writes are off until the operator sets a token, no browser origin may call the
API, and every request is bounded (time, result size, body size, GraphQL depth and complexity,
and how long and how large its arrival may be: `resolvers.wire_limits`).

Lists are comma-separated in a variable (spaces around the commas are not part of a value); a
flag is repeated instead:

>>> settings = ServerSettings.from_environment(
...     port=9000, cors_origins="https://a.example, https://b.example"
... )
>>> settings.port, settings.cors_origins, settings.writes_enabled
(9000, ('https://a.example', 'https://b.example'), False)

A value that does not fit says which flag (or variable) it came from and what was expected:

>>> ServerSettings.from_environment(workers=0)
Traceback (most recent call last):
kg.errors.UsageError: field `--workers`: `0` is not valid: input should be greater than or \
equal to 1 (expected a whole number x>=1, as in --workers 1)
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_origin

import annotated_types
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kg.cli.common import STORE_HELP
from kg.errors import UsageError
from kg.sparql.bounds import Limits
from kg.store import DEFAULT_STORE
from resolvers.wire_limits import WireLimits, uvicorn_options

__all__ = [
    "TARGET_NAME",
    "Flag",
    "ServerSettings",
    "bounds_of",
    "expected_of",
    "flag_of",
    "variable_of",
]


@dataclass(frozen=True)
class Flag:
    """How a setting is spelled on the command line, when not `--field-name`: a list's flag is
    singular and repeated (`--cors-origin A --cors-origin B`), a switch may have its negation
    (`--writes/--no-writes`)."""

    name: str
    metavar: str | None = None


class ServerSettings(BaseSettings):
    """How `modelkg serve` runs. Constructing it reads the `MODELKG_*` variables; keyword
    arguments win over them (`ServerSettings(store=...)`)."""

    model_config = SettingsConfigDict(
        env_prefix="MODELKG_",
        env_ignore_empty=True,  # MODELKG_PORT= means unset, as in a shell
        frozen=True,
    )

    host: Annotated[str, Field(description="Address to bind.")] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535, description="Port to bind.")] = 8000
    store: Annotated[str, Field(description=STORE_HELP)] = DEFAULT_STORE
    token: Annotated[
        str | None,
        Field(
            repr=False,
            description="Bearer token that enables writes (prefer the variable: flags show in "
            "`ps`).",
        ),
    ] = None
    writes: Annotated[
        bool,
        Flag("--writes/--no-writes"),
        Field(description="With a token set, still refuse every write."),
    ] = True
    cors_origins: Annotated[
        tuple[str, ...],
        NoDecode,
        Flag("--cors-origin", metavar="URL"),
        Field(
            description="Browser origins allowed to call the API (repeat the flag; `*` for "
            "any). None by default."
        ),
    ] = ()
    query_timeout: Annotated[
        float,
        Field(
            gt=0,
            allow_inf_nan=False,
            description="Seconds a SPARQL/GraphQL/REST request may run before 503.",
        ),
    ] = 30.0
    max_result_bytes: Annotated[
        int,
        Field(
            ge=1, description="Largest SPARQL result written; beyond it, 400 with a hint to page."
        ),
    ] = 50 * 1024 * 1024
    max_request_bytes: Annotated[
        int, Field(ge=1, description="Largest request body (uploads included); beyond it, 413.")
    ] = 10 * 1024 * 1024
    header_timeout: Annotated[
        float,
        Field(
            gt=0,
            allow_inf_nan=False,
            description="Seconds a request's URL and headers may take to arrive (from the "
            "connection's opening); past it, 408 and the connection closed (slow clients).",
        ),
    ] = 10.0
    body_timeout: Annotated[
        float,
        Field(
            gt=0,
            allow_inf_nan=False,
            description="Seconds a request's body may take to arrive once its headers are in; "
            "past it, 408 and the connection closed.",
        ),
    ] = 60.0
    max_url_bytes: Annotated[
        int, Field(ge=256, description="Longest request URL; beyond it, 414.")
    ] = 16 * 1024
    max_header_bytes: Annotated[
        int,
        Field(ge=1024, description="Largest request line and headers together; beyond it, 431."),
    ] = 64 * 1024
    keep_alive_timeout: Annotated[
        int, Field(ge=1, description="Seconds an idle connection is kept open between requests.")
    ] = 5
    max_connections: Annotated[
        int,
        Field(ge=1, description="Connections (and requests in flight) at once; beyond, 503."),
    ] = 1000
    graphql_max_depth: Annotated[int, Field(ge=1, description="GraphQL depth limit.")] = 10
    graphql_max_complexity: Annotated[
        int,
        Field(ge=1, description="GraphQL complexity limit (fields, multiplied by page sizes)."),
    ] = 5000
    ingest_roots: Annotated[
        tuple[str, ...],
        NoDecode,
        Flag("--ingest-root", metavar="DIR"),
        Field(
            description="Server folders that ingest requests may name paths under (repeat the "
            "flag). None by default: uploads only."
        ),
    ] = ()
    migration_targets: Annotated[
        tuple[str, ...],
        NoDecode,
        Flag("--migrate-to", metavar="NAME=STORE"),
        Field(
            description="Stores a `migrate` task may copy this one into, each under a name "
            "(repeat the flag): a client names the target, never a path or URL. None by "
            "default."
        ),
    ] = ()
    task_retention_days: Annotated[
        float,
        Field(
            ge=0,
            description="Ended background tasks older than this many days are forgotten when "
            "the server starts: their records, progress files and workspaces (codegen "
            "packages). 0 keeps every task.",
        ),
    ] = 30
    response_cache_mb: Annotated[
        int,
        Field(
            ge=0,
            description="Memory (MiB) for replaying reads (GraphQL and SPARQL queries, REST "
            "GETs) until the store is next written; 0 turns it off. Clients skip it with "
            "`Cache-Control: no-cache`.",
        ),
    ] = 64
    max_query_bytes: Annotated[
        int,
        Field(
            ge=1,
            description="Largest SPARQL query or update text, checked before parsing (413 past "
            "it).",
        ),
    ] = 1024 * 1024
    max_query_nesting: Annotated[
        int,
        Field(
            ge=1,
            description="Deepest nesting of { }, ( ) and [ ] in a SPARQL request (400 past it).",
        ),
    ] = 64
    max_queries_per_client: Annotated[
        int,
        Field(
            ge=1,
            description="SPARQL queries one client address may have running at once (429 past it).",
        ),
    ] = 4
    query_workers: Annotated[
        int,
        Field(
            ge=0,
            description="Processes that run clients' SPARQL queries, each killed at the query "
            "timeout; 0: two per core.",
        ),
    ] = 0
    workers: Annotated[
        int,
        Field(
            ge=1,
            description="Processes that serve HTTP requests (uvicorn workers); over the "
            "embedded store they read checkpoints beside one writer at a time.",
        ),
    ] = 1
    write_linger: Annotated[
        float,
        Field(
            ge=0,
            le=10,
            description="Seconds a write over the embedded store may wait to be published with "
            "the writes after it, the store kept open meanwhile (one server process only): a "
            "training loop's metrics cost a transaction each. This process reads its writes at "
            "once, clients' SPARQL publishes them first; 0 publishes every write at once.",
        ),
    ] = 0.2
    preload_embeddings: Annotated[
        bool,
        Field(
            description="Load the embedding model and sync the search index at start-up (else "
            "the first search does, and waits a few seconds)."
        ),
    ] = False

    @field_validator("cors_origins", "ingest_roots", "migration_targets", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """A variable's list is comma-separated; spaces around the commas are not part of it."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("migration_targets")
    @classmethod
    def _named_stores(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Each target is NAME=STORE, the names distinct and typeable, no store the served one."""
        served = _same_place(str(info.data.get("store", DEFAULT_STORE)))
        names: set[str] = set()
        for item in value:
            name, _, location = item.partition("=")
            if not TARGET_NAME.fullmatch(name) or not location.strip():
                raise ValueError(
                    f"`{item}` is not NAME=STORE with a name of lowercase letters, digits, - "
                    "and _ (e.g. backup=/srv/kg-backup or remote=sparql+http://db:7878)"
                )
            if name in names:
                raise ValueError(f"the target name `{name}` is given twice")
            if _same_place(location) == served:
                raise ValueError(f"`{item}` is the store this server serves")
            names.add(name)
        return value

    @property
    def migration_stores(self) -> dict[str, str]:
        """The migration targets, name -> store location."""
        return dict(item.split("=", 1) for item in self.migration_targets)

    @property
    def sparql_limits(self) -> Limits:
        """The bounds every SPARQL request is checked against before it is parsed."""
        return Limits(max_bytes=self.max_query_bytes, max_nesting=self.max_query_nesting)

    @property
    def wire_limits(self) -> WireLimits:
        """The bounds on how a request arrives, enforced in the HTTP protocol."""
        return WireLimits(
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            max_url_bytes=self.max_url_bytes,
            max_header_bytes=self.max_header_bytes,
        )

    def uvicorn_options(self) -> dict[str, Any]:
        """What `uvicorn.run` / `uvicorn.Config` needs to enforce this server's limits on
        connections and on how requests arrive (`resolvers.wire_limits`)."""
        return uvicorn_options(
            self.wire_limits,
            keep_alive_timeout=self.keep_alive_timeout,
            max_connections=self.max_connections,
        )

    @property
    def writes_enabled(self) -> bool:
        """Writes need both a token and writes left on."""
        return bool(self.token) and self.writes

    @property
    def cursor_key(self) -> bytes:
        """The key that signs paging cursors: stable across restarts of the same store, and
        the same for every server over one remote store (its URL, as given: not a path)."""
        secret = self.token or ""
        where = self.store if "://" in self.store else str(Path(self.store).resolve())
        return hashlib.sha256(f"modelkg-cursor\0{where}\0{secret}".encode()).digest()

    @classmethod
    def from_environment(cls, **given: object) -> ServerSettings:
        """Settings from the `given` values (flags; None: not given), else the `MODELKG_*`
        variables, else the defaults. A value that does not fit is a `UsageError` naming the
        flag or the variable it came from."""
        flags = {name: value for name, value in given.items() if value is not None}
        try:
            return cls(**flags)  # type: ignore[arg-type]  # pydantic checks each type
        except ValidationError as exc:
            raise _usage_error(exc, flags) from None


def variable_of(name: str) -> str:
    """The environment variable of the setting `name` (`MODELKG_QUERY_TIMEOUT`)."""
    return f"{ServerSettings.model_config.get('env_prefix', '')}{name.upper()}"


def flag_of(name: str) -> Flag:
    """The command-line spelling of the setting `name` (`--query-timeout`)."""
    field = ServerSettings.model_fields[name]
    declared = [item for item in field.metadata if isinstance(item, Flag)]
    return declared[0] if declared else Flag("--" + name.replace("_", "-"))


def bounds_of(field: FieldInfo) -> list[str]:
    """A field's bounds as `x>=1` (click's spelling in `--help`)."""
    signs = ((annotated_types.Gt, ">"), (annotated_types.Ge, ">="), (annotated_types.Le, "<="))
    return [
        f"x{sign}{getattr(item, bound.__name__.lower())}"
        for item in field.metadata
        for bound, sign in signs
        if isinstance(item, bound)
    ]


def expected_of(field: FieldInfo) -> str:
    """What a field accepts, in words: `a whole number x>=1`, `true or false`, ..."""
    kind: Any = field.annotation
    if kind is bool:
        return "true or false (or 1/0, yes/no, on/off)"
    if get_origin(kind) is tuple:
        return "a comma-separated list"
    words = {int: "a whole number", float: "a number"}.get(kind, "text")
    return " ".join([words, ", ".join(bounds_of(field))]).strip()


TARGET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""A migration target's name (`--migrate-to NAME=STORE`): typeable, at most 63 characters."""


def _same_place(location: str) -> str:
    """A store location as compared: a folder resolved, a URL as given."""
    return location if "://" in location else str(Path(location).resolve())


def _usage_error(exc: ValidationError, flags: dict[str, object]) -> UsageError:
    """The first invalid value as one line: where it came from, what it was, what fits."""
    problem = exc.errors()[0]
    name = str(problem["loc"][0])
    field = ServerSettings.model_fields[name]
    if problem["type"] == "value_error":  # our own validators' words, whole
        reason = str(problem["msg"]).removeprefix("Value error, ")
    else:
        reason = str(problem["msg"]).split(",")[0]
        reason = reason[:1].lower() + reason[1:]
    default = str(field.default).lower() if isinstance(field.default, bool) else field.default
    if default == ():  # an empty list: show the shape of one item instead
        default = flag_of(name).metavar or "VALUE"
    if name in flags:
        source, value = flag_of(name).name.split("/")[0], flags[name]
        example, hint = f"{source} {default}", None
    else:
        source = variable_of(name)
        value = os.environ.get(source, problem.get("input"))
        example, hint = f"{source}={default}", f"fix or unset {source}"
    own = problem["type"] == "value_error"  # our validators name the value at fault themselves
    return UsageError(
        reason if own else f"`{value}` is not valid: {reason}",
        field=source,
        expected=f"{expected_of(field)}, as in {example}",
        hint=hint,
    )
