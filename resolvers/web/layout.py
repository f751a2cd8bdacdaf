"""What every web page shares: the frame (nav, footer), the one stylesheet, the policy, the
templates, and how a failure becomes a page.

The pages are rendered on the server from Jinja2 templates with autoescaping on, so every name,
tag, param and id read from the store or the URL is text, never markup; only the SVG pictures
(drawn by `resolvers.pictures`, which escapes what it draws) go in as markup. Like the landing
page they run no script and load nothing from elsewhere: the one inline stylesheet (the landing
page's, plus tables and pictures) is admitted by its hash, and forms may only submit to this
origin (the filter and leaderboard forms are plain GETs).

A page is built in a worker thread (`run_in_worker`) by a function that answers a
`Rendered` page, never raises: an unknown id is a 404 page, a bad query parameter a 400 page,
each saying what was wrong. Errors are turned into pages inside the thread, so no store result
rides an exception's traceback to the event loop.

>>> page = error_page(404, "No such run", "no run `<script>` here")
>>> page.status, "no run `&lt;script&gt;` here" in page.html
(404, True)
>>> "form-action 'self'" in CONTENT_SECURITY_POLICY
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from kg import __version__
from kg.errors import InputError, ModelKGError, NotFoundError
from resolvers.errors import HttpError
from resolvers.landing import STYLE as LANDING_STYLE
from resolvers.pages import content_security_policy

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "MAX_ID_CHARS",
    "NAV",
    "STYLE",
    "BadParameter",
    "NotFound",
    "Rendered",
    "build",
    "error_page",
    "number",
    "read_query",
    "render",
    "when",
    "whole_number",
]

logger = logging.getLogger("modelkg.web")

MAX_ID_CHARS = 1024
"""An id in a URL longer than this names nothing: answered 404 before any store work."""

STYLE = (
    LANDING_STYLE
    + """
main { max-width: 72rem; }
nav.top { background: #fff; border-bottom: 1px solid var(--line); padding: 0.6rem 1.25rem; }
nav.top a { margin-right: 1.1rem; color: var(--accent); text-decoration: none; font-weight: 600; }
nav.top a.home { color: var(--ink); }
h1 { font-size: 1.6rem; overflow-wrap: anywhere; }
h3 { margin: 1.25rem 0 0.5rem; font-size: 0.95rem; color: var(--muted); }
a { color: var(--accent); }
.kind { display: inline-block; margin: 0 0 0.35rem; padding: 0.05rem 0.5rem; font-size: 0.8rem;
        color: var(--muted); border: 1px solid var(--line); border-radius: 1rem; background: #fff; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line);
        border-radius: 0.5rem; font-size: 0.9rem; }
th, td { padding: 0.4rem 0.7rem; text-align: left; vertical-align: top;
         border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--paper); font-weight: 600; color: var(--muted); }
table.tasks td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1.2rem;
           margin: 1rem 0 0; padding: 1rem 1.25rem; background: #fff;
           border: 1px solid var(--line); border-radius: 0.5rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
figure.picture { margin: 0; padding: 0.75rem; overflow-x: auto; background: #fff;
                 border: 1px solid var(--line); border-radius: 0.5rem; }
figure.picture svg { max-width: 100%; height: auto; }
figure.picture figcaption { color: var(--muted); font-size: 0.85rem; }
.plots { display: grid; gap: 0.75rem;
         grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); }
.note { color: var(--muted); font-size: 0.9rem; }
.status { font-weight: 600; }
.status-approved, .status-finished, .current { color: #1a7f37; }
.status-rejected, .status-failed, .rollback { color: #b42318; }
form.filters { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: end; margin: 1rem 0;
               padding: 0.9rem 1.1rem; background: #fff; border: 1px solid var(--line);
               border-radius: 0.5rem; }
form.filters label { display: flex; flex-direction: column; font-size: 0.8rem;
                     color: var(--muted); }
form.filters input, form.filters select, form.filters button { font: inherit;
               padding: 0.3rem 0.5rem; border: 1px solid var(--line); border-radius: 0.35rem; }
form.filters button { background: var(--accent); color: #fff; border-color: var(--accent); }
.pager { margin: 0.75rem 0; }
.error { padding: 1rem 1.25rem; background: #fff; border: 1px solid #f5c2c0;
         border-radius: 0.5rem; }
details { margin-top: 0.75rem; }
summary { cursor: pointer; color: var(--accent); }
"""
)
"""The pages' only stylesheet: the landing page's, then what tables and pictures need."""

CONTENT_SECURITY_POLICY = content_security_policy(app=False, inline_styles=[STYLE], forms=True)
"""No script, the one stylesheet by its hash, nothing from elsewhere, forms to this origin."""

NAV: tuple[tuple[str, str], ...] = (
    ("/models", "Models"),
    ("/experiments", "Experiments"),
    ("/registry", "Registry"),
    ("/deployments", "Deployments"),
)
"""(path, title) of the sections the top bar links to."""

_ENVIRONMENT = Environment(
    loader=PackageLoader("resolvers.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(millis: int | str | None) -> str:
    """A time in milliseconds since the epoch (the lifecycle's unit), as UTC to the second.

    >>> when(1700000000123)
    '2023-11-14 22:13:20 UTC'
    >>> when(None)
    ''
    """
    if millis is None or millis == "":
        return ""
    moment = datetime.fromtimestamp(int(millis) / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: object) -> str:
    """A number as people read it: thousands separated, floats to 4 significant digits.

    >>> number(272292096), number(0.123456), number("x")
    ('272,292,096', '0.1235', 'x')
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_ENVIRONMENT.filters["when"] = when
_ENVIRONMENT.filters["number"] = number


@dataclass(frozen=True)
class Rendered:
    """A page, rendered: its status and its HTML (a plain string, safe to hand across threads)."""

    status: int
    html: str

    def response(self) -> HTMLResponse:
        """The page as an answer, with its Content-Security-Policy."""
        return HTMLResponse(
            self.html,
            status_code=self.status,
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        )


def render(template: str, *, title: str, status: int = 200, **context: Any) -> Rendered:
    """`template` (a file under `resolvers/web/templates`) in the shared frame."""
    html = _ENVIRONMENT.get_template(template).render(
        title=title, style=Markup(STYLE), nav=NAV, version=__version__, **context
    )
    return Rendered(status, html)


class NotFound(LookupError):  # noqa: N818 - the page's status, as people know it
    """The page's subject does not exist: a 404 page saying `message`."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadParameter(ValueError):  # noqa: N818 - the page's status, as people know it
    """A query parameter the page cannot use: a 400 page naming it."""

    def __init__(self, name: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"query parameter `{name}`: {message}")
        self.message = f"query parameter `{name}`: {message}"
        self.hint = hint


_TITLES = {400: "Bad request", 404: "Not found", 500: "Something went wrong"}


def error_page(status: int, title: str, message: str, hint: str | None = None) -> Rendered:
    """A page that says what went wrong, with the status it is answered with."""
    return render("error.html.j2", title=title, status=status, message=message, hint=hint)


def build(work: Callable[[], Rendered], *, query_fields: Collection[str] = ()) -> Rendered:
    """Run `work` (in a worker thread) and answer its page, or the error page it failed with.

    A `kg` lifecycle error about one of `query_fields` (a query parameter the page passed on,
    such as `goal`) is the client's bad parameter: 400. Any other not-found or refused id is
    the URL naming nothing: 404. A failure nobody planned for is logged and answered 500 as a
    page, never a bare traceback.
    """
    try:
        return work()
    except NotFound as exc:
        return error_page(404, _TITLES[404], exc.message, exc.hint)
    except BadParameter as exc:
        return error_page(400, _TITLES[400], exc.message, exc.hint)
    except HttpError as exc:  # resolvers.rest.context.find_model's 404 with close names
        status = 404 if exc.status == 404 else 400
        return error_page(status, _TITLES[status], exc.message, exc.hint)
    except InputError as exc:  # LifecycleError, NotFoundError, ... included
        asked = exc.field in query_fields and not isinstance(exc, NotFoundError)
        status = 400 if asked else 404
        hint = exc.hint or (f"expected {exc.expected}" if exc.expected else None)
        return error_page(status, _TITLES[status], exc.message, hint)
    except ModelKGError as exc:
        logger.warning("web page failed: %s", exc)
        return error_page(500, _TITLES[500], str(exc))
    except Exception:
        logger.exception("web page failed")
        return error_page(500, _TITLES[500], "the page could not be built; the log says why")


def read_query(items: Sequence[tuple[str, str]], allowed: Collection[str]) -> dict[str, str]:
    """The page's query parameters by name: empty ones (a blank form field) left out; a name
    the page does not know, or one given twice, is a bad parameter.

    >>> read_query([("q", "bert"), ("task", "")], {"q", "task"})
    {'q': 'bert'}
    >>> read_query([("colour", "red")], {"q"})
    Traceback (most recent call last):
    ...
    resolvers.web.layout.BadParameter: query parameter `colour`: this page takes no such \
parameter
    """
    found: dict[str, str] = {}
    for name, value in items:
        if name not in allowed:
            raise BadParameter(
                name[:80],
                "this page takes no such parameter",
                "it takes " + ", ".join(sorted(allowed)),
            )
        if name in found:
            raise BadParameter(name, "given twice", "give it once")
        if value.strip():
            found[name] = value.strip()
    return found


def whole_number(name: str, text: str | None, *, default: int, low: int, high: int) -> int:
    """A whole-number query parameter between `low` and `high`.

    >>> whole_number("first", "10", default=25, low=1, high=100)
    10
    >>> whole_number("first", "ten", default=25, low=1, high=100)
    Traceback (most recent call last):
    ...
    resolvers.web.layout.BadParameter: query parameter `first`: `ten` is not a whole number \
from 1 to 100
    """
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise BadParameter(name, f"`{text[:40]}` is not a whole number from {low} to {high}")
    return int(text)
