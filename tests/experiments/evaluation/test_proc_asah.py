"""The published pROC results on the aSAH data set (data/proc_asah/README.md): controls Good, cases Poor.

pROC asserts its values with testthat's relative tolerance (~1.5e-8); most are written with 15 significant
digits, so we hold ourselves to 1e-13 relative (5e-11 absolute where only 10 decimals are published).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from experiments.evaluation import evaluate, read_truth
from experiments.evaluation.intervals import Z, auc_covariance
from experiments.evaluation.roc import placements, rank
from tests.experiments.evaluation.helpers import DATA

FOLDER = DATA / "proc_asah"
EXPECTED = json.loads((FOLDER / "expected.json").read_text())
REL = 1e-13
MARKERS = ("wfns", "ndka", "s100b")


def _section(name: str) -> dict:
    return {entry["id"]: entry for entry in EXPECTED[name]}


@pytest.fixture(scope="module")
def asah() -> list[dict]:
    with (FOLDER / "asah.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def files(asah, tmp_path_factory) -> dict:
    """truth.csv (Poor = 1) and one predictions file per marker, for all patients and for the women only."""
    folder = tmp_path_factory.mktemp("asah")
    out = {}
    for subset, keep in (("all", lambda r: True), ("female", lambda r: r["gender"] == "Female")):
        rows = [(i, r) for i, r in enumerate(asah) if keep(r)]
        paths = {"truth": folder / f"truth_{subset}.csv"}
        paths["truth"].write_text(
            "id,label\n" + "".join(f"p{i},{1 if r['outcome'] == 'Poor' else 0}\n" for i, r in rows)
        )
        for marker in MARKERS:
            paths[marker] = folder / f"{marker}_{subset}.csv"
            paths[marker].write_text("id,score\n" + "".join(f"p{i},{r[marker]}\n" for i, r in rows))
        out[subset] = paths
    return out


def _report(files, challenger: str, champion: str | None = None, subset: str = "all") -> dict:
    paths = files[subset]
    return evaluate(
        task="binary",
        truth=paths["truth"],
        predictions=paths[challenger],
        champion=paths[champion] if champion else None,
        n_resamples=10,
    )


def test_counts(files):
    truth = read_truth(files["all"]["truth"], task="binary")
    assert truth.class_counts == {"0": 72, "1": 41}


@pytest.mark.parametrize("marker", MARKERS)
def test_auc(files, marker):
    expected = _section("auc")[f"auc.{marker}"]["value"]
    assert _report(files, marker)["metrics"]["auc"]["value"] == pytest.approx(expected, rel=REL)


def _placements(files, marker):
    truth = read_truth(files["all"]["truth"], task="binary")
    scores = np.loadtxt(files["all"][marker], delimiter=",", skiprows=1, usecols=1)
    return placements(rank(scores, truth.y)), truth.y


@pytest.mark.parametrize("marker", MARKERS)
def test_delong_placements(files, marker):
    entry = _section("delong_placements")[f"placements.{marker}"]
    values, y = _placements(files, marker)
    # pROC's X are the cases (Poor) in row order, Y the controls; printed to 15 significant digits.
    np.testing.assert_allclose(values[y == 1], entry["X_cases"], rtol=REL * 10, atol=0)
    np.testing.assert_allclose(values[y == 0], entry["Y_controls"], rtol=REL * 10, atol=0)


@pytest.mark.parametrize("marker", MARKERS)
def test_delong_variance(files, marker):
    values, y = _placements(files, marker)
    _, cov = auc_covariance(values[None, :], y)
    assert cov[0, 0] == pytest.approx(_section("var_delong")[f"var.{marker}"]["value"], rel=REL)


@pytest.mark.parametrize(("a", "b"), [("wfns", "ndka"), ("ndka", "s100b"), ("s100b", "wfns")])
def test_delong_covariance(files, a, b):
    va, y = _placements(files, a)
    vb, _ = _placements(files, b)
    _, cov = auc_covariance(np.stack([va, vb]), y)
    assert cov[0, 1] == pytest.approx(_section("cov_delong")[f"cov.{a}.{b}"]["value"], rel=REL)


@pytest.mark.parametrize(("a", "b"), [("wfns", "s100b"), ("wfns", "ndka"), ("ndka", "s100b")])
def test_paired_delong_test(files, a, b):
    entry = _section("roc_test_paired_delong")[f"roc.test.paired.{a}.{b}"]
    compared = _report(files, a, b)["comparison"]
    low, high = entry["conf_int_auc1_minus_auc2"]
    assert compared["ci_low"] == pytest.approx(low, rel=REL)
    assert compared["ci_high"] == pytest.approx(high, rel=REL)
    assert compared["p_value"] == pytest.approx(entry["p_value"], rel=REL)
    sd = (compared["ci_high"] - compared["ci_low"]) / (2 * Z)
    assert compared["delta"] / sd == pytest.approx(entry["statistic_Z"], rel=REL)
    assert compared["method"] == "DeLong paired test"
    # Reversed order: Z changes sign, p stays.
    reversed_ = _report(files, b, a)["comparison"]
    assert reversed_["delta"] / sd == pytest.approx(entry["reversed_order"]["statistic_Z"], rel=REL)
    assert reversed_["p_value"] == pytest.approx(entry["reversed_order"]["p_value"], rel=REL)
    assert reversed_["ci_low"] == pytest.approx(-high, rel=REL)


def test_identical_curves_give_no_verdict_where_proc_gives_p_1(files):
    """pROC answers Z = 0, p = 1 for identical curves; a difference with zero variance carries no information, so
    the engine gives no p-value and no interval but ``insufficient_data`` with the reason."""
    entry = _section("roc_test_paired_delong")["roc.test.paired.identical"]
    compared = _report(files, "wfns", "wfns")["comparison"]
    assert compared["delta"] == entry["statistic_Z"] == 0
    assert entry["p_value"] == 1
    assert compared["p_value"] is None
    assert compared["ci_low"] is None and compared["ci_high"] is None
    assert compared["verdict"] == "insufficient_data"
    assert compared["reason"] == "the difference does not vary between rows, so its uncertainty cannot be estimated"


def test_auc_interval(files):
    low, auc, high = _section("ci_auc_delong")["ci.auc.ndka"]["value"]
    got = _report(files, "ndka")["metrics"]["auc"]
    assert got["value"] == pytest.approx(auc, rel=REL)
    assert got["ci_low"] == pytest.approx(low, rel=REL)
    assert got["ci_high"] == pytest.approx(high, rel=REL)


def test_auc_interval_on_a_subset(files):
    low, auc, high = _section("ci_auc_delong")["ci.auc.ndka.female"]["value"]  # 10 decimals published
    report = _report(files, "ndka", subset="female")
    assert read_truth(files["female"]["truth"], task="binary").class_counts == {"0": 50, "1": 21}
    got = report["metrics"]["auc"]
    assert got["value"] == pytest.approx(auc, abs=5e-11)
    assert got["ci_low"] == pytest.approx(low, abs=5e-11)
    assert got["ci_high"] == pytest.approx(high, abs=5e-11)


@pytest.mark.parametrize("marker", ["s100b", "wfns"])
def test_derived_auc_intervals(files, marker):
    """Secondary check against values derived (not asserted) from pROC's variances."""
    entry = next(e for e in EXPECTED["derived_not_asserted"]["ci_auc_delong"] if marker in e["call"])
    got = _report(files, marker)["metrics"]["auc"]
    assert [got["ci_low"], got["value"], got["ci_high"]] == pytest.approx(entry["value"], rel=REL)
