"""The calibration benchmark runs end to end (`python -m bench calibration` gives the figures)."""

from __future__ import annotations

from bench import bench_calibration


def test_the_quick_calibration_prints_every_section():
    table, _ = bench_calibration.calibration(trials=3, resamples=50, processes=1)
    for task in ("binary", "multiclass", "regression"):
        for setting in ("200 rows", "G=5×20", "G=10×20", "G=20×20", "G=60×20"):
            assert f"{task}, {setting}" in table
    assert "binary, 2,100 negatives" in table and "frr_at_far_1e-2" in table
    assert "AUC power, 0.80 vs 0.83" in table
    assert "P(any false promotion)" in table and "improvement promoted" in table
    assert "targets are judged only with ≥ 400 trials" in table
