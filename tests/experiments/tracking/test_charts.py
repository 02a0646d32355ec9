"""Chart figures and downsampling: pure functions, checked against slow reference code."""

from __future__ import annotations

import itertools
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from experiments.tracking.charts import downsample_minmax, history_figure


def reference_minmax(xs, ys, max_points):
    """Slow, obvious version: the same buckets, min and max of each, plus the ends."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    n = len(pairs)
    if n <= max_points:
        return [p[0] for p in pairs], [p[1] for p in pairs]
    buckets = max_points // 2
    edges = [int(e) for e in np.linspace(0, n, buckets + 1)]
    keep = {0, n - 1}
    for lo, hi in itertools.pairwise(edges):
        segment = [pairs[i][1] for i in range(lo, hi)]
        keep.add(lo + segment.index(min(segment)))
        keep.add(lo + segment.index(max(segment)))
    chosen = sorted(keep)
    return [pairs[i][0] for i in chosen], [pairs[i][1] for i in chosen]


def test_short_series_are_untouched():
    assert downsample_minmax([0, 1, 2], [3.0, 1.0, 2.0]) == ([0.0, 1.0, 2.0], [3.0, 1.0, 2.0])


def test_matches_the_reference_on_random_walks():
    rng = np.random.default_rng(7)
    for n in (2001, 5000, 12345):
        ys = np.cumsum(rng.normal(size=n)).tolist()
        xs = list(range(n))
        assert downsample_minmax(xs, ys, 500) == reference_minmax(xs, ys, 500)


def test_a_single_spike_survives_100k_points():
    ys = [0.0] * 100_000
    ys[73_456] = 42.0
    ys[12] = -5.0
    xs, sampled = downsample_minmax(range(100_000), ys)
    assert len(sampled) <= 2002
    assert 42.0 in sampled and -5.0 in sampled
    assert xs[sampled.index(42.0)] == 73_456
    assert xs == sorted(xs)


def test_nan_and_infinite_points_are_dropped():
    assert downsample_minmax([0, 1, 2, 3], [1.0, float("nan"), float("inf"), 2.0]) == ([0.0, 3.0], [1.0, 2.0])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        downsample_minmax([1, 2], [1.0])
    with pytest.raises(ValueError, match="at least 4"):
        downsample_minmax([1], [1.0], max_points=2)


def test_history_figure_is_a_valid_plotly_figure_with_one_trace_per_run():
    figure = history_figure("loss", [("run a", [0, 1], [0.9, 0.5]), ("run b", [0, 1, 2], [0.8, 0.4, 0.2])])
    validated = go.Figure(figure)  # raises on any property plotly does not know
    assert [t.name for t in validated.data] == ["run a", "run b"]
    assert list(validated.data[1].y) == [0.8, 0.4, 0.2]
    assert validated.layout.title.text == "loss"
    assert validated.layout.showlegend is True
    assert all(t["type"] == "scatter" for t in figure["data"])  # SVG, not WebGL


def test_single_series_figure_has_no_legend():
    figure = history_figure("auc", [("only", list(range(50)), [0.5] * 50)])
    assert figure["layout"]["showlegend"] is False
    assert figure["data"][0]["mode"] == "lines"
