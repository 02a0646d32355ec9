"""The confidence sequence over time is a pure function of the snapshots; the README's hash is the engine's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import plotly.graph_objects as go

from experiments.abtests.charts import sequence_figure, sequence_points
from experiments.evaluation.online import Assigner

ROOT = Path(__file__).resolve().parents[3]


def _analysis(estimate, low, high, variant="challenger"):
    return {
        "challengers": [
            {"variant": variant, "primary": {"estimate": estimate, "cs_low": low, "cs_high": high}},
        ]
    }


def test_the_band_follows_each_look_and_skips_looks_without_data():
    snapshots = [
        ("2026-01-05T09:00:00+00:00", _analysis(None, None, None)),
        ("2026-01-05T09:01:00+00:00", _analysis(0.05, -0.02, 0.12)),
        ("2026-01-05T09:02:00+00:00", _analysis(0.06, 0.01, 0.11)),
        ("2026-01-05T09:02:00+00:00", _analysis(0.5, 0.4, 0.6, variant="other")),
    ]
    points = sequence_points(snapshots, "challenger")
    assert len(points) == 3
    figure = sequence_figure(points, metric="authenticated", variant="challenger", champion="champion")
    upper, lower, line = figure["data"]
    assert line["y"] == [0.05, 0.06] and lower["y"] == [-0.02, 0.01] and upper["y"] == [0.12, 0.11]
    assert lower["fill"] == "tonexty" and line["x"] == [p["at"] for p in points[1:]]
    json.dumps(figure, allow_nan=False)
    go.Figure(figure)  # plotly rejects unknown properties


def test_the_readme_hash_assigns_as_the_engine_does():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Online A/B tests", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own README
    for arms in ([("champion", 1), ("challenger", 1)], [("a", 90), ("b", 5), ("c", 5)]):
        engine = Assigner("checkout-42", arms)
        for unit in [f"user-{k}" for k in range(2000)] + ["42", "dévice"]:
            assert namespace["assign"]("checkout-42", unit, arms) == engine.assign(unit)
