"""The forest plot and ROC/DET figures are pure functions of the numbers: tested without Django."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm

from experiments.benchmarks.charts import DET_LIMITS, ForestRow, det_figure, forest_figure, probit, roc_figure

ROWS = [
    ForestRow("gbm #3", 0.012, 0.004, 0.020, "better", "/p/AUTH/evaluations/3/"),
    ForestRow("lr #2", -0.002, -0.010, 0.006, "no_significant_difference"),
    ForestRow("tiny #1", -0.030, -0.045, -0.015, "worse"),
]
CURVES = {
    "champion": {"far": [0.0, 0.0, 0.1, 0.5, 1.0], "frr": [1.0, 0.6, 0.3, 0.05, 0.0]},
    "challenger": {"far": [0.0, 0.001, 0.05, 0.2, 1.0], "frr": [1.0, 0.4, 0.1, 0.01, 0.0]},
}


def test_the_forest_plot_draws_each_interval_around_its_delta():
    figure = forest_figure(ROWS, metric_label="AUC", higher_is_better=True)
    trace = figure["data"][0]
    assert trace["y"] == ["gbm #3", "lr #2", "tiny #1"]
    assert trace["x"] == [0.012, -0.002, -0.030]
    assert trace["error_x"]["array"] == pytest.approx([0.008, 0.008, 0.015])
    assert trace["error_x"]["arrayminus"] == pytest.approx([0.008, 0.008, 0.015])
    assert trace["marker"]["color"] == ["#16a34a", "#6b7280", "#dc2626"]
    assert trace["customdata"][0][3] == "/p/AUTH/evaluations/3/"
    json.dumps(figure)  # embeddable as JSON


def test_the_forest_plot_always_shows_zero_and_shades_the_better_side():
    figure = forest_figure([ForestRow("a", 0.05, 0.03, 0.07, "better")], metric_label="AUC", higher_is_better=True)
    low, high = figure["layout"]["xaxis"]["range"]
    assert low < 0 < high
    zero_line = figure["layout"]["shapes"][1]
    assert (zero_line["x0"], zero_line["x1"]) == (0, 0)
    shade = figure["layout"]["shapes"][0]
    assert (shade["x0"], shade["x1"]) == (0, high)
    loss = forest_figure([ForestRow("a", -0.05, -0.07, -0.03, "better")], metric_label="EER", higher_is_better=False)
    shade = loss["layout"]["shapes"][0]
    assert (shade["x0"], shade["x1"]) == (loss["layout"]["xaxis"]["range"][0], 0)
    assert loss["layout"]["annotations"][0]["text"] == "← challenger better"


def test_a_row_without_an_interval_is_a_bare_point():
    figure = forest_figure(
        [ForestRow("a", 0.01, None, None, "no_significant_difference")], metric_label="F1", higher_is_better=True
    )
    assert figure["data"][0]["error_x"]["array"] == [0.0]


def test_the_forest_plot_grows_with_its_rows():
    small = forest_figure(ROWS[:1], metric_label="AUC", higher_is_better=True)
    large = forest_figure(ROWS * 10, metric_label="AUC", higher_is_better=True)
    assert large["layout"]["height"] > small["layout"]["height"]


def test_the_roc_plots_true_accepts_against_false_accepts():
    figure = roc_figure(CURVES, names={"champion": "rule", "challenger": "gbm"})
    champion, challenger, chance = figure["data"]
    assert (champion["name"], challenger["name"]) == ("rule", "gbm")
    assert champion["x"] == CURVES["champion"]["far"]
    assert champion["y"] == pytest.approx([0.0, 0.4, 0.7, 0.95, 1.0])
    assert chance["x"] == [0, 1] and chance["showlegend"] is False


def test_the_det_uses_normal_deviates_and_clips_the_ends():
    figure = det_figure(CURVES, names={"champion": "rule", "challenger": "gbm"})
    challenger = figure["data"][1]
    assert challenger["x"][1] == pytest.approx(norm.ppf(0.001))
    assert challenger["y"][1] == pytest.approx(norm.ppf(0.4))
    assert np.all(np.isfinite(challenger["x"])) and np.all(np.isfinite(challenger["y"]))
    assert min(challenger["x"]) == pytest.approx(norm.ppf(DET_LIMITS[0]))
    assert figure["layout"]["xaxis"]["ticktext"][:3] == ["0.01%", "0.1%", "1%"]
    assert figure["data"][-1]["name"] == "FAR = FRR (EER)"


def test_probit_of_zero_and_one_stays_finite():
    assert np.isfinite(probit([0.0, 1.0])).all()


def test_curves_missing_a_model_draw_only_the_other():
    figure = roc_figure({"challenger": CURVES["challenger"]}, names={"challenger": "gbm"})
    assert [t["name"] for t in figure["data"]] == ["gbm", "chance"]
