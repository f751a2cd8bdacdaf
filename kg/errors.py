"""Every error ModelKG raises on purpose, in one tree.

Each carries what a user needs to act: the `path` of the file, the `field` inside it, what was
`expected`, and a `hint` on how to fix it. The CLI maps them to exit codes in one place
(`kg.cli.main`), the HTTP layer to status codes in one place.

    ModelKGError
    ├── InputError (ValueError)            bad input: nothing was written
    │   ├── SourceNotFoundError (FileNotFoundError)
    │   ├── FileTooLargeError
    │   ├── EncodingError
    │   ├── JSONSyntaxError                malformed JSON, with line and column
    │   ├── ConfigError                    a value of the wrong type or shape
    │   ├── ModelCardError                 broken YAML front matter
    │   ├── CacheError                     broken HF cache entries
    │   ├── ShapeViolation                 SHACL violations of a model's graph
    │   └── LifecycleError                 a lifecycle write refused (MLflow's error codes)
    │       ├── NotFoundError              an unknown run, experiment, version, target
    │       ├── AlreadyExistsError         a name taken (experiment, registered model)
    │       └── InvalidStateError          a finished run, a rejected version, no previous
    │                                      deployment, a cycle in lineage
    ├── QueryError (ValueError)            bad SPARQL, with line and column
    │   └── QueryRefused                   well-formed SPARQL ModelKG will not run (SERVICE,
    │                                      LOAD, a protected graph, too large or too deep)
    ├── QueryKilledError                   a query stopped at its timeout, or crashed its worker
    ├── TooBusyError                       too many queries running (per client, or in all)
    ├── UsageError (ValueError)            a bad option value (format, engine, ...)
    ├── CodegenError (ValueError)          a model the graph cannot turn into code (unknown,
    │                                      no task, no type mapping, a name that cannot be)
    └── StoreError (OSError)               the store cannot be opened or written

>>> err = ConfigError("expected an integer", path="m/config.json", field="hidden_size",
...                   expected="a positive integer", hint="write 768, not \\"big\\"")
>>> print(err)
m/config.json: field `hidden_size`: expected an integer (expected a positive integer; \
write 768, not "big")
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "CacheError",
    "CodegenError",
    "ConfigError",
    "EncodingError",
    "FileTooLargeError",
    "InputError",
    "InvalidStateError",
    "JSONSyntaxError",
    "LifecycleError",
    "ModelCardError",
    "ModelKGError",
    "NotFoundError",
    "OutputError",
    "QueryError",
    "QueryKilledError",
    "QueryRefused",
    "ShapeViolation",
    "SourceNotFoundError",
    "StoreError",
    "TooBusyError",
    "UsageError",
]


class ModelKGError(Exception):
    """Base of every error ModelKG raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        field: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.field = field
        self.expected = expected
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path:
            where += f"{self.path}: "
        if self.field:
            where += f"field `{self.field}`: "
        extra = "; ".join(
            part
            for part in (f"expected {self.expected}" if self.expected else "", self.hint)
            if part
        )
        return f"{where}{self.message}" + (f" ({extra})" if extra else "")


class InputError(ModelKGError, ValueError):
    """Bad input: the store was not touched."""


class SourceNotFoundError(InputError, FileNotFoundError):
    """A path or hub id that does not exist (locally)."""


class FileTooLargeError(InputError):
    """A metadata file over the size cap; metadata is small, so this is almost always a mistake."""


class EncodingError(InputError):
    """A metadata file that is not UTF-8."""


class JSONSyntaxError(InputError):
    """Malformed JSON; `line` and `column` say where."""

    def __init__(self, message: str, *, path: str, line: int, column: int) -> None:
        super().__init__(
            f"malformed JSON at line {line}, column {column}: {message}",
            path=path,
            hint="fix the JSON syntax (a linter such as `python -m json.tool FILE` shows it)",
        )
        self.line = line
        self.column = column


class ConfigError(InputError):
    """A value of the wrong type or shape in a metadata file."""


class ModelCardError(InputError):
    """A model card whose YAML front matter cannot be read."""


class CacheError(InputError):
    """A HuggingFace cache entry that cannot be read (broken symlinks, partial download)."""


class ShapeViolation(InputError):  # noqa: N818 - the SHACL term, kept as users know it
    """A model graph that violates the SHACL shapes; `results` holds every finding."""

    def __init__(self, message: str, *, path: str | None, results: tuple[object, ...]) -> None:
        super().__init__(message, path=path)
        self.results = results


class LifecycleError(InputError):
    """A lifecycle write or look-up refused; nothing was written. `error_code` is MLflow's name
    for the kind of error (its REST API answers with it, and the HTTP status follows from it)."""

    error_code = "INVALID_PARAMETER_VALUE"


class NotFoundError(LifecycleError, LookupError):
    """An experiment, run, registered model, version, alias or target that does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExistsError(LifecycleError):
    """A name already taken: an experiment's, a registered model's."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidStateError(LifecycleError):
    """A write its target's state forbids: logging to a finished run, promoting a rejected
    version, rolling back with nothing to roll back to, a link that would close a cycle."""

    error_code = "INVALID_STATE"


class QueryError(ModelKGError, ValueError):
    """A SPARQL query that does not parse or cannot run; `line`/`column` when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message, hint="check the SPARQL syntax near the position shown")
        self.line = line
        self.column = column


class QueryRefused(QueryError):  # noqa: N818 - a verdict, not a failure of ModelKG's
    """A well-formed SPARQL request that ModelKG will not run; `code` says why.

    Codes: `service_refused`, `fetch_refused` (the request would make the server fetch a URL),
    `protected_graph` (it would write a graph ModelKG owns), `query_too_large`,
    `query_too_deep` (bounds checked before parsing), `wrong_operation` (an update sent as a
    query or the other way round), `bad_graph_uri` (a dataset graph that is no IRI).
    """

    def __init__(
        self, code: str, message: str, *, hint: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint
        self.field = field


class QueryKilledError(ModelKGError):
    """The query ran past its timeout (its worker was killed) or crashed its worker."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class TooBusyError(ModelKGError):
    """Too many queries at once: from this client (`per_client`), or in all."""

    def __init__(self, message: str, *, per_client: bool) -> None:
        super().__init__(message, hint="wait for the running queries to finish, then retry")
        self.per_client = per_client


class UsageError(ModelKGError, ValueError):
    """An option value that is not one of the accepted forms."""


class StoreError(ModelKGError, OSError):
    """The store cannot be opened or written (locked by another process, disk full, ...)."""


class OutputError(ModelKGError, OSError):
    """A file ModelKG was asked to write cannot be written (disk full, no permission, ...)."""


class CodegenError(ModelKGError, ValueError):
    """A model the graph cannot turn into code: not in the graph, no known task, a task with no
    type mapping, or a name that cannot be a Python or tool name; the message names the model
    and the missing fact."""
