"""Chart figures: built by hand as dicts (what the app does) against plotly's Python API.

`python -m bench charts`. Builds the figures of the heaviest pages — a run page with five metric
histories of 100,000 points, the compare page (10 runs), a champion-progress chart with 500
challengers over 50 sprints — once as the app builds them (plain dicts, then ``json.dumps``, as
``json_script`` does) and once through ``plotly.graph_objects.Figure(...).to_plotly_json()`` from the
same dicts (the cheapest way to use the Python API; it validates every property). Also the import
time of ``plotly.graph_objects`` in a fresh interpreter, which a web or worker process would pay.
Each figure is timed best of REPEAT. This decides whether plotly is a runtime dependency.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REPEAT = 5


def _best(build, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        build()
        times.append(time.perf_counter() - started)
    return min(times)


def _history_figures() -> list:
    from experiments.tracking.charts import history_figure

    rng = np.random.default_rng(3)
    steps = np.arange(100_000)
    figures = []
    for key in ("loss", "val_loss", "auc", "lr", "grad_norm"):
        values = np.cumsum(rng.normal(0, 1, steps.size))
        figures.append(lambda k=key, v=values: history_figure(k, [("run", steps, v)]))
    return figures


def _compare_figure():
    from experiments.tracking.charts import history_figure

    rng = np.random.default_rng(4)
    series = [(f"run {i}", np.arange(5_000), np.cumsum(rng.normal(0, 1, 5_000))) for i in range(10)]
    return lambda: history_figure("val_loss", series, height=320)


def _progress_figure():
    from experiments.dashboards.charts import MetricPoint, Promotion, SprintSpan
    from experiments.dashboards.result_charts import champion_progress_figure

    start = datetime.datetime(2025, 1, 6, tzinfo=datetime.UTC)
    rng = np.random.default_rng(5)
    sprints = [
        SprintSpan(
            f"Sprint {i}",
            (start + datetime.timedelta(days=14 * i)).date(),
            (start + datetime.timedelta(days=14 * i + 13)).date(),
        )
        for i in range(50)
    ]
    promotions = [
        Promotion(at=start + datetime.timedelta(days=14 * i), value=0.7 + i / 200, low=0.69 + i / 200,
                  high=0.71 + i / 200, label=f"model {i}", ticket=f"AUTH-{i}")
        for i in range(0, 50, 5)
    ]  # fmt: skip
    verdicts = ("better", "worse", "no_significant_difference")
    challengers = [
        MetricPoint(
            at=start + datetime.timedelta(hours=33 * i),
            value=float(0.7 + rng.normal(0, 0.02)),
            low=0.68,
            high=0.72,
            label=f"run {i}",
            verdict=verdicts[i % 3],
            ticket=f"AUTH-{i}",
        )
        for i in range(500)
    ]
    until = start + datetime.timedelta(days=700)
    return lambda: champion_progress_figure(
        metric="auc", promotions=promotions, challengers=challengers, sprints=sprints, until=until, title="auc"
    )


def _import_time() -> float:
    code = "import time; t = time.perf_counter(); import plotly.graph_objects; print(time.perf_counter() - t)"
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout))
    return min(times)


def main() -> None:
    import plotly.graph_objects as go

    print(f"chart figures, best of {REPEAT}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    cases = [(f"run page, {name}", build) for name, build in zip(("loss", "val_loss", "auc", "lr", "grad_norm"),
                                                                   _history_figures(), strict=True)]  # fmt: skip
    cases += [("compare page, 10 runs x 5,000 points", _compare_figure())]
    cases += [("champion progress, 500 challengers, 50 sprints", _progress_figure())]
    total_hand = total_plotly = 0.0
    for label, build in cases:
        figure = build()
        by_hand = _best(lambda b=build: json.dumps(b()))
        through_plotly = _best(lambda b=build: json.dumps(go.Figure(b()).to_plotly_json(), cls=_Encoder))
        total_hand += by_hand
        total_plotly += through_plotly
        size = len(json.dumps(figure))
        print(
            f"  {label:<48} by hand {by_hand * 1000:7.1f} ms   plotly.graph_objects {through_plotly * 1000:7.1f} ms"
            f"   ({through_plotly / by_hand:4.1f}x, {size / 1024:.0f} KiB of JSON)"
        )
    label = "all of the above"
    print(f"  {label:<48} by hand {total_hand * 1000:7.1f} ms   plotly.graph_objects {total_plotly * 1000:7.1f} ms")
    print(f"  import plotly.graph_objects in a fresh interpreter: {_import_time() * 1000:.0f} ms")


class _Encoder(json.JSONEncoder):
    """numpy arrays and numbers, which plotly keeps inside its JSON."""

    def default(self, o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        return super().default(o)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
