"""Evaluations read from disk a row range at a time (``stored``) give the engine's report to 1e-12."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from experiments.evaluation import evaluate, resampling, stored
from experiments.evaluation.checking import check_truth
from experiments.evaluation.columnar import write_table
from experiments.evaluation.errors import EvaluationInputError
from experiments.evaluation.sharding import evaluate_stored
from tests.experiments.evaluation.test_sharding import CASES, assert_same, binary


def write_files(folder, truth, models, kind="parquet", seed=0):
    """The in-memory ``truth`` and ``models`` as files: ids as text, predictions shuffled, missing rows left
    out; gives their paths."""
    rng = np.random.default_rng(seed)
    n = truth.n_rows
    ids = np.array([f"r{i:06d}" for i in range(n)])
    label = pa.array(truth.y) if truth.task == "regression" else pa.array(np.array(truth.classes)[truth.y])
    columns = {"id": pa.array(ids), "label": label}
    if truth.groups is not None:
        columns["group"] = pa.array([f"s{g}" for g in truth.groups])
    suffix = {"parquet": "parquet", "csv": "csv", "gzip": "csv.gz", "zstd": "csv.zst"}[kind]
    paths = {"truth": write_table(pa.table(columns), folder / f"truth.{suffix}", kind)}
    for who, p in models.items():
        rows = rng.permutation(np.flatnonzero(p.present))
        out = {"id": pa.array(ids[rows])}
        if truth.task == "binary":
            out["score"] = pa.array(p.scores[rows])
        elif truth.task == "multiclass":
            out["label"] = pa.array(np.array(truth.classes)[p.labels[rows]])
            if p.proba is not None:
                for k, name in enumerate(truth.classes):
                    out[f"p_{name}"] = pa.array(p.proba[rows, k])
        else:
            out["prediction"] = pa.array(p.values[rows])
        paths[who] = write_table(pa.table(out), folder / f"{who}.{suffix}", kind)
    return paths


def prepared(folder, paths, task):
    columns = folder / "truth.columns.parquet"
    check_truth(paths["truth"], task=task, columns=columns, row_group_rows=700)
    truth = stored.prepare_truth(columns, task=task, name=paths["truth"].name, folder=folder / "truth.prepared")
    models = {
        who: stored.align_predictions(paths[who], truth=truth, folder=folder / f"{who}.aligned")
        for who in ("challenger", "champion")
        if who in paths
    }
    return truth, models


@pytest.mark.parametrize("case", list(CASES))
def test_stored_equals_single_process(case, tmp_path, monkeypatch):
    monkeypatch.setattr(resampling, "MAX_UNITS", 500)
    monkeypatch.setattr(stored, "CHUNK_ROWS", 1000)  # several row ranges in the alignment
    make, _ = CASES[case]
    truth, challenger, champion = make()
    task = truth.task
    paths = write_files(tmp_path, truth, {"challenger": challenger, "champion": champion})
    whole = evaluate(
        task=task, truth=paths["truth"], predictions=paths["challenger"], champion=paths["champion"], n_resamples=80
    )
    truth_on_disk, models = prepared(tmp_path, paths, task)
    assert models["challenger"].n_covered == challenger.n_covered
    for rows_per_shard in (truth.n_rows, 700):
        report = evaluate_stored(
            truth=truth_on_disk,
            predictions=models["challenger"],
            champion=models["champion"],
            n_resamples=80,
            rows_per_shard=rows_per_shard,
            directory=str(tmp_path / f"store-{rows_per_shard}"),
        )
        assert_same(whole, report)


@pytest.mark.parametrize("kind", ["csv", "gzip", "zstd"])
def test_compressed_and_plain_csv_are_aligned_alike(kind, tmp_path):
    truth, challenger, champion = binary(1500, 40, 31, ties=3, missing=0.05)
    paths = write_files(tmp_path, truth, {"challenger": challenger, "champion": champion}, kind=kind)
    whole = evaluate(
        task="binary", truth=paths["truth"], predictions=paths["challenger"], champion=paths["champion"], n_resamples=50
    )
    truth_on_disk, models = prepared(tmp_path, paths, "binary")
    report = evaluate_stored(
        truth=truth_on_disk,
        predictions=models["challenger"],
        champion=models["champion"],
        n_resamples=50,
        rows_per_shard=400,
        directory=str(tmp_path / "store"),
    )
    assert_same(whole, report)


def test_prepared_folders_are_reused_not_redone(tmp_path):
    truth, challenger, _ = binary(800, None, 32)
    paths = write_files(tmp_path, truth, {"challenger": challenger})
    truth_on_disk, models = prepared(tmp_path, paths, "binary")
    stamp = (tmp_path / "challenger.aligned" / "score.bin").stat().st_mtime_ns
    again = stored.align_predictions(paths["challenger"], truth=truth_on_disk, folder=tmp_path / "challenger.aligned")
    assert again == models["challenger"]
    assert (tmp_path / "challenger.aligned" / "score.bin").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob(".challenger.aligned.*"))  # nothing temporary left behind


def test_bad_predictions_are_refused_with_the_readers_message_and_nothing_is_kept(tmp_path):
    truth, challenger, _ = binary(600, None, 33)
    paths = write_files(tmp_path, truth, {"challenger": challenger}, kind="csv")
    text = paths["challenger"].read_text().splitlines()
    text[5] = "nobody,0.5"
    paths["challenger"].write_text("\n".join(text) + "\n")
    truth_on_disk, _ = prepared(tmp_path, {"truth": paths["truth"]}, "binary")
    with pytest.raises(EvaluationInputError) as refused:
        stored.align_predictions(paths["challenger"], truth=truth_on_disk, folder=tmp_path / "challenger.aligned")
    assert "nobody" in str(refused.value) and "line 6" in str(refused.value)
    assert not (tmp_path / "challenger.aligned").exists()
    assert not list(tmp_path.glob(".challenger.aligned.*"))


def test_a_probability_metric_on_scores_outside_0_1_names_the_line(tmp_path):
    truth, challenger, _ = binary(600, None, 34, probability=False)
    paths = write_files(tmp_path, truth, {"challenger": challenger}, kind="csv")
    truth_on_disk, models = prepared(tmp_path, paths, "binary")
    with pytest.raises(EvaluationInputError) as stored_error:
        evaluate_stored(
            truth=truth_on_disk, predictions=models["challenger"], primary="brier_loss", directory=str(tmp_path / "s")
        )
    with pytest.raises(EvaluationInputError) as engine_error:
        evaluate(task="binary", truth=paths["truth"], predictions=paths["challenger"], primary="brier_loss")
    assert str(stored_error.value) == str(engine_error.value)
