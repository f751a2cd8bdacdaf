"""MLflow's own rules for what may be logged, applied as ModelKG errors.

The limits (a batch of 1,000 metrics, 100 params and tags, 1,000 entities, 1 MB; key and value
lengths; what counts as a number, a name, an alias) are MLflow's, taken from the `mlflow` package
that defines them rather than restated, so a client sees the same verdict from ModelKG as from
MLflow's server: the same message, the same error code.

>>> check_batch(metrics=[Metric("loss", 0.1, 1, 0)] * 1001, params=[], tags=[])
Traceback (most recent call last):
...
kg.errors.LifecycleError: A batch logging request can contain at most 1000 metrics. Got 1001 ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from kg.errors import AlreadyExistsError, InvalidStateError, LifecycleError, NotFoundError
from kg.lifecycle.records import Metric

__all__ = [
    "check",
    "check_batch",
    "entities",
    "mlflow_verdicts",
    "page_start",
    "registry_entities",
    "search_utils",
    "token_at",
    "validation",
]


class _Lazy:
    """One of mlflow's modules, imported when first used: importing mlflow takes about 2 s,
    which every `modelkg` command (and each query process the MCP server spawns) would pay
    whether or not it touches the lifecycle. (The standard library's `LazyLoader` does not
    help here: finding a submodule's spec imports its parent package, `mlflow` itself.)

    >>> _Lazy("json").dumps([1])
    '[1]'
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


validation: Any = _Lazy("mlflow.utils.validation")
search_utils: Any = _Lazy("mlflow.utils.search_utils")
entities: Any = _Lazy("mlflow.entities")
registry_entities: Any = _Lazy("mlflow.entities.model_registry")
_exceptions: Any = _Lazy("mlflow.exceptions")

_BY_CODE: dict[str, type[LifecycleError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFoundError,
    "RESOURCE_ALREADY_EXISTS": AlreadyExistsError,
    "INVALID_STATE": InvalidStateError,
}


@contextmanager
def mlflow_verdicts(field: str | None = None) -> Iterator[None]:
    """Turn MLflow's `MlflowException` inside the block into the matching `LifecycleError`,
    keeping MLflow's message and error code."""
    failure = _exceptions.MlflowException
    try:
        yield
    except failure as exc:
        error = _BY_CODE.get(exc.error_code, LifecycleError)(exc.message, field=field)
        error.error_code = exc.error_code
        raise error from None


def token_at(offset: int) -> str:
    """The token of the page that starts at `offset`, as MLflow writes it (its own helper
    gives bytes; a token is text in every answer).

    >>> page_start(token_at(40))
    40
    """
    token: bytes | str = search_utils.SearchUtils.create_page_token(offset)
    return token.decode("ascii") if isinstance(token, bytes) else token


def page_start(page_token: str | None) -> int:
    """The offset an MLflow page token stands for; a token this server did not give (not
    base64, not MLflow's JSON) is refused as the client's mistake, never a crash.

    >>> page_start(None)
    0
    >>> page_start("\u00a2p")
    Traceback (most recent call last):
    ...
    kg.errors.LifecycleError: field `page_token`: Invalid page token '¢p': ...
    """
    with mlflow_verdicts("page_token"):
        try:
            start: int = search_utils.SearchUtils.parse_start_offset_from_page_token(page_token)
        except ValueError:  # base64 refuses non-ASCII before MLflow can say it is invalid
            raise LifecycleError(
                f"Invalid page token {page_token!r}: not one this server gave",
                field="page_token",
                hint="pass back the next_page_token (REST: pageInfo.endCursor) of the last page",
            ) from None
    return start


def check(rule: Callable[..., Any], *args: Any, field: str | None = None) -> None:
    """Apply one of MLflow's validation functions (`validation._validate_param`, ...)."""
    with mlflow_verdicts(field):
        rule(*args)


def check_batch(
    *, metrics: Sequence[Metric], params: Sequence[tuple[str, str]], tags: Sequence[tuple[str, str]]
) -> None:
    """A log-batch as MLflow checks it: the limits first, then each metric, param and tag."""
    with mlflow_verdicts():
        validation._validate_batch_log_limits(metrics, params, tags)
        validation._validate_batch_log_data(
            [entities.Metric(m.key, m.value, m.timestamp, m.step) for m in metrics],
            [entities.Param(key, value) for key, value in params],
            [entities.RunTag(key, value) for key, value in tags],
        )
