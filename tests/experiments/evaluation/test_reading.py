"""Reading truth and prediction files: every bad input gets file, line, column and a clear message."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.evaluation import EvaluationInputError, read_predictions, read_truth
from tests.experiments.evaluation.helpers import BAD_INPUTS, BadInput


def _read_all(case: BadInput, paths: dict):
    truth = read_truth(paths["truth"], task=case.task)
    read_predictions(paths["predictions"], truth=truth)
    if "champion" in paths:
        read_predictions(paths["champion"], truth=truth)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_is_reported_with_file_line_and_column(case: BadInput, tmp_path):
    paths = case.write(tmp_path)
    with pytest.raises(EvaluationInputError) as caught:
        _read_all(case, paths)
    error = caught.value
    assert error.file == paths[case.fault].name
    assert error.line == case.line
    assert error.column == case.column
    message = str(error)
    assert case.text in message
    assert "\n" not in message
    where = ", ".join([paths[case.fault].name] + ([f"line {case.line}"] if case.line else []))
    assert message.startswith(where)
    if case.column is not None:
        assert f"({case.column})" in message or f"column {case.column}" in message


def test_name_replaces_the_path_in_messages(tmp_path):
    path = tmp_path / "upload-1234.csv"
    path.write_bytes(b"id,label\na,0\nb,maybe\n")
    with pytest.raises(EvaluationInputError) as caught:
        read_truth(path, task="binary", name="my truth.csv")
    assert str(caught.value) == 'my truth.csv, line 3, column 2 (label): "maybe" is not a binary label; use 0 or 1'


def test_a_messy_but_valid_file_is_read(tmp_path):
    # BOM, CRLF, blank lines, spaces around values, quoted fields, columns in another order.
    truth = tmp_path / "truth.csv"
    truth.write_bytes(b'\xef\xbb\xbf group , id ,label\r\n\r\ng1, a ,0\r\n"g1","b,2", 1\r\ng2,c,1\r\n\r\n')
    t = read_truth(truth, task="binary")
    assert t.n_rows == 3
    assert t.n_groups == 2
    assert t.ids.to_pylist() == ["a", "b,2", "c"]
    assert t.class_counts == {"0": 1, "1": 2}
    assert t.describe() == {
        "task": "binary",
        "n_rows": 3,
        "n_groups": 2,
        "classes": ["0", "1"],
        "class_counts": {"0": 1, "1": 2},
    }
    predictions = tmp_path / "p.csv"
    predictions.write_bytes(b'score,id\r\n 0.25 ,c\r\n1e-1,"b,2"\r\n')
    p = read_predictions(predictions, truth=t)
    assert p.present.tolist() == [False, True, True]
    assert p.scores[1:].tolist() == [0.1, 0.25]
    assert p.describe() == {"rows": 2, "covered": 2, "missing": 1, "fraction": pytest.approx(2 / 3)}


def test_predictions_in_any_order_are_aligned_to_the_truth(tmp_path):
    truth = tmp_path / "t.csv"
    truth.write_bytes(b"id,label\n3,0\n1,1\n2,0\n007,1\n")
    predictions = tmp_path / "p.csv"
    predictions.write_bytes(b"id,score\n007,0.7\n2,0.2\n3,0.3\n1,0.1\n")
    p = read_predictions(predictions, truth=read_truth(truth, task="binary"))
    assert p.scores.tolist() == [0.3, 0.1, 0.2, 0.7]  # "007" is an id, not the number 7
    assert p.complete


def test_multiclass_truth_defines_the_classes_and_probabilities_are_optional(tmp_path):
    truth = tmp_path / "t.csv"
    truth.write_bytes(b"id,label\na,dog\nb,cat\nc,bird\nd,cat\n")
    t = read_truth(truth, task="multiclass")
    assert t.classes == ("bird", "cat", "dog")
    assert t.y.tolist() == [2, 1, 0, 1]
    assert t.class_counts == {"bird": 1, "cat": 2, "dog": 1}
    assert t.n_groups is None
    with_proba = tmp_path / "p.csv"
    with_proba.write_bytes(b"id,label,p_dog,p_cat,p_bird\na,dog,0.8,0.1,0.1\nc,cat,0,1,0\n")
    p = read_predictions(with_proba, truth=t)
    assert p.labels.tolist() == [2, -1, 1, -1]
    np.testing.assert_array_equal(p.proba[0], [0.1, 0.1, 0.8])
    np.testing.assert_array_equal(p.proba[2], [0, 1, 0])
    assert np.isnan(p.proba[1]).all()
    without = tmp_path / "q.csv"
    without.write_bytes(b"id,label\na,dog\n")
    assert read_predictions(without, truth=t).proba is None


def test_regression_reads_numbers(tmp_path):
    truth = tmp_path / "t.csv"
    truth.write_bytes(b"id,label\na,1.5\nb,-2e3\nc,0\n")
    t = read_truth(truth, task="regression")
    assert t.y.tolist() == [1.5, -2000.0, 0.0]
    predictions = tmp_path / "p.csv"
    predictions.write_bytes(b"id,prediction\nc,1\nb,2\na,3\n")
    assert read_predictions(predictions, truth=t).values.tolist() == [3.0, 2.0, 1.0]


def test_an_unknown_task_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="task must be one of"):
        read_truth(tmp_path / "t.csv", task="ranking")
