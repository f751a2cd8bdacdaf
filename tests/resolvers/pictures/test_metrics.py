"""A run page plots the metrics the run logged: one line per metric, its name in the legend.

Each test draws, parses the SVG as XML and reads what a browser would show.
"""

from __future__ import annotations

import math
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from resolvers.pictures import PictureTooLarge, metric_plot_svg
from resolvers.pictures.metrics import MAX_POINTS, MAX_SERIES, NO_METRICS_SVG, downsample

SVG = "{http://www.w3.org/2000/svg}"

RUN = {
    "train/loss": [(0.0, 2.3), (100.0, 1.2), (200.0, 0.8), (300.0, 0.61)],
    "eval/accuracy": [(100.0, 0.71), (300.0, 0.83)],
}


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def line_points(root: ET.Element, index: int) -> int:
    """How many points the line of the `index`-th metric has (its path's M and L commands)."""
    [group] = [g for g in root.iter(f"{SVG}g") if g.get("id") == f"metric-{index}"]
    [path] = group.iter(f"{SVG}path")
    return len(re.findall(r"[ML] ", path.get("d", "")))


def test_each_metric_is_one_line_named_in_the_legend() -> None:
    svg = metric_plot_svg(RUN, title="run 7f3a")

    assert svg.startswith("<svg")  # no XML prolog or doctype: it inlines into HTML
    root = ET.fromstring(svg)
    ids = [g.get("id") for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("metric")]
    assert ids == ["metric-0", "metric-1"]
    assert [line_points(root, 0), line_points(root, 1)] == [4, 2]
    shown = texts(root)
    assert {"train/loss", "eval/accuracy", "step", "value", "run 7f3a"} <= set(shown)


def test_the_plot_is_compact_and_the_same_every_time() -> None:
    svg = metric_plot_svg(RUN)

    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height")) == ("480pt", "240pt")  # 640 x 320 CSS px
    assert metric_plot_svg(RUN) == svg


def test_the_plot_carries_no_css_so_the_pages_policy_admits_it() -> None:
    root = ET.fromstring(metric_plot_svg(RUN))

    assert not [e.tag for e in root.iter() if e.get("style") is not None]
    assert not list(root.iter(f"{SVG}style"))
    [path] = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "metric-0").iter(f"{SVG}path")
    assert (path.get("fill"), path.get("stroke")) == ("none", "#1f77b4")


@pytest.mark.parametrize(
    "key",
    ["$\\frac{1}{0}$", "a_b$", "$x$ and $y$", "100% $$", "<script>alert(1)</script>", "_private"],
)
def test_a_metric_key_is_shown_literally(key: str) -> None:
    svg = metric_plot_svg({key: [(0.0, 1.0), (1.0, 2.0)]}, title=key, x_label=key)

    root = ET.fromstring(svg)
    legend = "\u200b" + key if key.startswith("_") else key  # matplotlib hides "_" labels
    shown = sorted(text for text in texts(root) if key in text)
    assert shown == sorted([key, key, legend])  # the title, the x label, the legend
    assert "<script" not in svg


def test_nan_and_infinite_values_are_skipped() -> None:
    points = [(0.0, 1.0), (1.0, math.nan), (2.0, math.inf), (3.0, -math.inf), (4.0, 0.5)]
    root = ET.fromstring(metric_plot_svg({"loss": points}))

    assert line_points(root, 0) == 2


def test_a_metric_with_nothing_finite_keeps_its_legend_entry() -> None:
    root = ET.fromstring(metric_plot_svg({"loss": [(0.0, 1.0)], "diverged": [(0.0, math.nan)]}))

    assert "diverged" in texts(root)


@pytest.mark.parametrize("series", [{}, {"loss": []}, {"loss": [(0.0, math.nan)]}])
def test_nothing_to_plot_says_so(series: dict[str, list[tuple[float, float]]]) -> None:
    svg = metric_plot_svg(series)

    assert svg == NO_METRICS_SVG
    assert texts(ET.fromstring(svg)) == ["no metrics logged"]


def test_a_long_run_is_thinned_but_keeps_its_spike_and_ends() -> None:
    steps = np.arange(100_000, dtype=np.float64)
    loss = 2.0 * np.exp(-steps / 20_000)
    loss[61_803] = 50.0  # the spike a reader must see
    series = {"loss": list(zip(steps.tolist(), loss.tolist(), strict=True))}

    started = time.perf_counter()
    svg = metric_plot_svg(series)
    elapsed = time.perf_counter() - started

    assert len(svg.encode()) < 300_000
    assert elapsed < 5.0
    root = ET.fromstring(svg)
    assert line_points(root, 0) <= MAX_POINTS
    x, y = downsample(steps, loss)
    assert (x[0], x[-1], y.max()) == (0.0, 99_999.0, 50.0)
    assert np.all(np.diff(x) > 0)  # still in step order, nothing twice


def test_steps_logged_out_of_order_are_drawn_in_order() -> None:
    root = ET.fromstring(metric_plot_svg({"loss": [(2.0, 3.0), (0.0, 1.0), (1.0, 2.0)]}))
    [group] = [g for g in root.iter(f"{SVG}g") if g.get("id") == "metric-0"]
    [path] = group.iter(f"{SVG}path")
    xs = [float(v) for v in re.findall(r"[ML] ([-\d.]+)", path.get("d", ""))]
    assert xs == sorted(xs)


def test_more_series_than_a_plot_holds_are_refused() -> None:
    series = {f"m{i}": [(0.0, 1.0)] for i in range(MAX_SERIES + 1)}

    with pytest.raises(PictureTooLarge, match="too many series to draw: 51 > 50"):
        metric_plot_svg(series)


def test_plots_drawn_at_once_from_threads_are_each_correct() -> None:
    runs = [{f"metric {i}": [(0.0, float(i)), (1.0, float(i + 1))]} for i in range(8)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        svgs = list(pool.map(metric_plot_svg, runs))

    assert svgs == [metric_plot_svg(run) for run in runs]
    assert [f"metric {i}" in texts(ET.fromstring(svg)) for i, svg in enumerate(svgs)] == [True] * 8
