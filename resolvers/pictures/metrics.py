"""Metric plots: a run's logged metrics (loss, accuracy, ...) over steps, as an inline SVG.

A run page shows how its metrics moved, drawn on the server with matplotlib's object API (a
`Figure` of its own, never pyplot's global figures) and its SVG backend, so no display and no
browser-side script are needed. The same input gives the same bytes: the SVG ids are salted
with a fixed `svg.hashsalt` and the date is left out. Text stays text (`svg.fonttype: none`),
so a page's search and a test both find the metric names. matplotlib's CSS (`style="..."`)
is rewritten as SVG presentation attributes, which the pages' Content-Security-Policy admits.

Metric keys are user text: they are drawn literally (`text.parse_math` off, so `$x$` is not
TeX), on one line, at most 40 characters. The work is bounded: each series is thinned to at
most `MAX_POINTS` points, and at most `MAX_SERIES` series are drawn.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from io import StringIO
from typing import TYPE_CHECKING, Any, Final

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from resolvers.pictures.lineage import PictureTooLarge

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["MAX_POINTS", "MAX_SERIES", "NO_METRICS_SVG", "downsample", "metric_plot_svg"]

MAX_POINTS: Final = 2000
"""Points drawn per series at most: more than a 640-pixel-wide plot can show apart."""

MAX_SERIES: Final = 50

NO_METRICS_SVG: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="40" viewBox="0 0 640 40" '
    'role="img">\n<text x="8" y="24" font-family="DejaVu Sans, sans-serif" font-size="13" '
    'fill="#555555">no metrics logged</text>\n</svg>\n'
)
"""What `metric_plot_svg` answers for a run with nothing to plot."""

_RC: Final[dict[RcKeyType, Any]] = {
    "svg.hashsalt": "modelkg",  # ids (clip paths, glyphs) the same on every run
    "svg.fonttype": "none",  # text as <text>, not as glyph paths
    "text.usetex": False,
    "text.parse_math": False,  # "$x$" in a metric key is text, not TeX
}
_SIZE_INCHES: Final = (640 / 96, 320 / 96)  # 640 x 320 CSS pixels (SVG sizes are in pt, 1/72 in)
_KEY_CHARS: Final = 40
_WHITESPACE = re.compile(r"\s+")
_RC_LOCK = threading.Lock()
"""`rc_context` sets matplotlib's global rcParams: one plot at a time holds them."""


def metric_plot_svg(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str | None = None,
    x_label: str = "step",
) -> str:
    """One line per metric in `series` (key -> (step, value) points), as an SVG element to
    inline in an HTML page; `NO_METRICS_SVG` when no key has a finite value.

    NaN and ±inf values are skipped (a diverged run shows where it stopped, not a spike to
    the axis limit); points are drawn in step order; a long series is thinned by `downsample`.
    Each line's SVG group has the id `metric-<i>`, i the key's position in `series`.

    >>> svg = metric_plot_svg({"loss": [(0, 2.0), (1, 1.1), (2, float("nan")), (3, 0.7)]})
    >>> svg.startswith("<svg"), 'id="metric-0"' in svg, ">loss<" in svg
    (True, True, True)
    >>> metric_plot_svg({}) == NO_METRICS_SVG
    True

    Raises `PictureTooLarge` (a `ValueError`) for more than `MAX_SERIES` keys.
    """
    if len(series) > MAX_SERIES:
        raise PictureTooLarge("series", len(series), MAX_SERIES)
    lines = [(_one_line(key), *_finite_in_step_order(points)) for key, points in series.items()]
    if not any(len(x) for _, x, _ in lines):
        return NO_METRICS_SVG
    with _RC_LOCK, mpl.rc_context(_RC):
        figure = Figure(figsize=_SIZE_INCHES, layout="constrained")
        axes = figure.add_subplot()
        for i, (key, x, y) in enumerate(lines):
            x_shown, y_shown = downsample(x, y)
            # matplotlib's legend leaves out labels starting with "_"; a zero-width space keeps them
            label = "\u200b" + key if key.startswith("_") else key
            axes.plot(x_shown, y_shown, label=label, linewidth=1.2, gid=f"metric-{i}")
        axes.set_xlabel(_one_line(x_label))
        axes.set_ylabel("value")
        if title is not None:
            axes.set_title(_one_line(title))
        axes.grid(alpha=0.3)
        figure.legend(loc="outside right upper", fontsize="small", frameon=False)
        out = StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return _without_css(svg[svg.index("<svg") :])


def downsample(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], limit: int = MAX_POINTS
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """`x`, `y` thinned to at most `limit` points, keeping what the eye looks for.

    The points are cut into `limit // 4` buckets of consecutive points; from each bucket the
    first, the last, the lowest and the highest value are kept (in their order), so every
    spike and dip and both ends survive, which a plain stride would drop. Fewer points than
    `limit` come back unchanged.

    >>> x = np.arange(100_000, dtype=np.float64)
    >>> y = np.sin(x / 5_000)
    >>> y[51_234] = 9.0
    >>> xs, ys = downsample(x, y)
    >>> len(xs) <= 2000, float(xs[0]), float(xs[-1]), float(ys.max())
    (True, 0.0, 99999.0, 9.0)
    """
    n = len(x)
    if n <= limit:
        return x, y
    bounds = np.linspace(0, n, limit // 4 + 1).astype(np.intp)
    keep: list[npt.NDArray[np.intp]] = []
    for start, stop in itertools.pairwise(bounds):
        if stop <= start:
            continue
        bucket = y[start:stop]
        picks = [0, stop - start - 1, int(np.argmin(bucket)), int(np.argmax(bucket))]
        keep.append(start + np.unique(np.asarray(picks, dtype=np.intp)))
    index = np.concatenate(keep)
    return x[index], y[index]


def _finite_in_step_order(
    points: Sequence[tuple[float, float]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    xy = xy[np.argsort(xy[:, 0], kind="stable")]
    return xy[:, 0], xy[:, 1]


def _one_line(text: str) -> str:
    """User text for a label: one line, no control characters (not XML), at most 40
    characters."""
    text = _WHITESPACE.sub(" ", text).strip()
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cs"})
    return text if len(text) <= _KEY_CHARS else text[: _KEY_CHARS - 1].rstrip() + "…"


_PRESENTATION: Final = frozenset(
    {
        "clip-path",
        "fill",
        "fill-opacity",
        "fill-rule",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "text-anchor",
    }
)
_TAG = re.compile(r"<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+=\"[^\"]*\")*)\s*(/?)>")
_ATTRIBUTE = re.compile(r'([\w:.-]+)="([^"]*)"')
_DEFAULT_STYLE = re.compile(
    r'\s*<style type="text/css">\*\{stroke-linejoin: round; stroke-linecap: butt\}</style>'
)


def _without_css(svg: str) -> str:
    """matplotlib's SVG with its CSS (`style="fill: none; ..."` and one `<style>` element)
    turned into SVG presentation attributes (`fill="none"`), which mean the same.

    The pages' Content-Security-Policy admits no inline styles, so an inlined plot would
    otherwise lose its styles and draw every line as a black filled shape. Presentation
    attributes are not styles and pass. A declaration outside `_PRESENTATION` leaves its
    element as it was.
    """
    if _DEFAULT_STYLE.search(svg):
        svg = _DEFAULT_STYLE.sub("", svg, count=1)
        svg = svg.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)
    return _TAG.sub(_tag_without_css, svg)


def _tag_without_css(tag: re.Match[str]) -> str:
    attributes = dict(_ATTRIBUTE.findall(tag[2]))
    style = attributes.pop("style", None)
    if style is None:
        return tag[0]
    for declaration in filter(None, (d.strip() for d in style.split(";"))):
        name, colon, value = (part.strip() for part in declaration.partition(":"))
        if not colon or name not in _PRESENTATION:
            return tag[0]
        attributes[name] = value  # a style wins over an attribute of the same name
    pairs = "".join(f' {name}="{value}"' for name, value in attributes.items())
    return f"<{tag[1]}{pairs}{' /' if tag[3] else ''}>"
