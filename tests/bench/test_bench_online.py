"""The online calibration benchmark runs end to end and gives the table the calibration benchmark folds in.

The figures themselves need hundreds of trials (`python -m bench online`); this only keeps the script working.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench import bench_online


@pytest.fixture
def short_streams(monkeypatch):
    """Every scenario with 12 looks instead of 200 (in this process), so the whole table takes seconds."""
    shortened = {key: dataclasses.replace(s, looks=12) for key, s in bench_online.SCENARIOS.items()}
    monkeypatch.setattr(bench_online, "SCENARIOS", shortened)


def test_a_trial_is_reproducible_from_its_seed(short_streams):
    seed = np.random.SeedSequence(3)
    first = bench_online.run_trial(("lift", seed))
    again = bench_online.run_trial(("lift", np.random.SeedSequence(3)))
    assert first == again
    assert set(first["first"]) == {("cs", "challenger", "better"), ("cs", "challenger", "worse")}


def test_the_table_covers_every_scenario_with_plain_rows(short_streams):
    rows = bench_online.calibration_rows(trials=3, processes=1)
    titles = {row["scenario"] for row in rows}
    assert {s.title for s in bench_online.SCENARIOS.values()} <= titles
    for row in rows:
        assert set(row) == {"scenario", "check", "value", "unit", "target", "ok"}
        assert row["value"] is None or np.isfinite(row["value"])
    exact = next(row for row in rows if row["check"].startswith("exactly 51,000 / 49,000"))
    assert exact["ok"] is True
    assert all(bench_online._format(row) for row in rows)
