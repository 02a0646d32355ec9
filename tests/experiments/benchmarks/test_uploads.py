"""A corpus of bad dataset and prediction files, through the API and the browser forms.

Each must get a 400 whose message names the file, the line and the column at fault, and leave
nothing behind: no rows, no stored files, no temporary upload files.
"""

from __future__ import annotations

import html

import pytest

from experiments.models import Evaluation, EvaluationDataset, PredictionSet, Run
from tests.experiments.benchmark_helpers import (  # noqa: F401
    file_field,
    files_under,
    make_benchmark,
    make_run,
    media_root_fixture,
)

pytestmark = pytest.mark.django_db

GOOD_TRUTH = "id,label,group\na,1,g1\nb,0,g1\nc,1,g2\nd,0,g2\n"

# (content, line, column): the line and column the message must name (None: not about one line/column).
BAD_TRUTH = [
    pytest.param(b"", 1, None, id="empty"),
    pytest.param(b"id,label\n", 2, None, id="header-only"),
    pytest.param(b"id,group\na,g\n", 1, "label", id="missing-label-column"),
    pytest.param(b"id,label\na,1\nb,2\n", 3, "label", id="label-not-0-or-1"),
    pytest.param(b"id,label\na,1\nb,0\na,1\n", 4, "id", id="duplicate-id"),
    pytest.param(b"id,label\na,1\nb,1\n", None, "label", id="one-class-only"),
    pytest.param(b"id,label\na,1\nb,0,extra\n", 3, "#3", id="ragged-row"),
    pytest.param("id,label\na,1\nb,0\n".encode("utf-16"), 1, None, id="utf-16"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00", 1, None, id="binary-file"),
    pytest.param(b"id,label\n,1\nb,0\n", 2, "id", id="empty-id"),
    pytest.param(b"id,label,colour\na,1,x\nb,0,y\n", 1, "colour", id="unknown-column"),
]

BAD_PREDICTIONS = [
    pytest.param(b"id,score\na,0.5\nb,nan\n", 3, "score", id="nan-score"),
    pytest.param(b"id,score\na,0.5\nb,high\n", 3, "score", id="text-score"),
    pytest.param(b"id,score\na,inf\n", 2, "score", id="infinite-score"),
    pytest.param(b"id,score\na,\nb,0.2\n", 2, "score", id="empty-score"),
    pytest.param(b"id,score\na,0.5\nzz,0.1\n", 3, "id", id="unknown-id"),
    pytest.param(b"id,score\na,0.5\na,0.1\n", 3, "id", id="duplicate-id"),
    pytest.param(b"id,probability\na,0.5\n", 1, "score", id="missing-score-column"),
    pytest.param(b'id,score\na,0.5\n"b,0.2\n', 3, None, id="unbalanced-quote"),
    pytest.param(b"", 1, None, id="empty"),
]


@pytest.fixture
def upload_tmp(settings, tmp_path):
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def bench(cast, media_root, tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text(GOOD_TRUTH)
    return make_benchmark(cast.project, cast.lead, truth=truth)


def assert_names_the_place(message: str, file: str, line: int | None, column: str | None) -> None:
    assert message.startswith(file), message
    if line is not None:
        assert f"line {line}" in message, message
    if column is not None:
        assert column in message, message


def assert_nothing_stored(media_root, upload_tmp, before: list[str]) -> None:
    assert files_under(media_root) == before
    assert list(upload_tmp.iterdir()) == []


# --- Datasets ---------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "line", "column"), BAD_TRUTH)
def test_a_bad_truth_file_through_the_api_is_refused_with_its_place(
    api, cast, bench, media_root, upload_tmp, content, line, column
):
    before = files_under(media_root)
    response = api(cast.lead).post(
        f"/api/v1/benchmarks/{bench.pk}/datasets/", {"file": file_field(content, "truth_v2.csv")}, format="multipart"
    )
    assert response.status_code == 400, response.content
    message = response.json()["message"]
    assert message.startswith("file: ")
    assert_names_the_place(message.removeprefix("file: "), "truth_v2.csv", line, column)
    assert EvaluationDataset.objects.filter(benchmark=bench).count() == 1
    assert_nothing_stored(media_root, upload_tmp, before)


@pytest.mark.parametrize(("content", "line", "column"), BAD_TRUTH)
def test_a_bad_truth_file_through_the_form_is_refused_with_its_place(
    web, cast, bench, media_root, upload_tmp, content, line, column
):
    before = files_under(media_root)
    response = web(cast.lead).post(
        f"/p/AUTH/benchmarks/{bench.pk}/datasets/", {"file": file_field(content, "truth_v2.csv"), "note": "v2"}
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    error = page.split('data-testid="file-error">', 1)[1].split("</div>", 1)[0]
    assert_names_the_place(error, "truth_v2.csv", line, column)
    assert EvaluationDataset.objects.filter(benchmark=bench).count() == 1
    assert_nothing_stored(media_root, upload_tmp, before)


def test_a_good_truth_file_through_the_form_becomes_the_next_version(web, cast, bench, media_root, upload_tmp):
    content = GOOD_TRUTH + "e,1,g3\nf,0,g3\n"
    response = web(cast.lead).post(f"/p/AUTH/benchmarks/{bench.pk}/datasets/", {"file": file_field(content, "v2.csv")})
    assert response.status_code == 302
    latest = EvaluationDataset.objects.filter(benchmark=bench).order_by("-version").first()
    assert (latest.version, latest.n_rows, latest.n_groups, latest.original_name) == (2, 6, 3, "v2.csv")
    assert (media_root / latest.file).read_text() == content
    assert list(upload_tmp.iterdir()) == []


# --- Predictions ------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "line", "column"), BAD_PREDICTIONS)
def test_bad_predictions_through_the_api_are_refused_with_their_place(
    api, cast, bench, media_root, upload_tmp, content, line, column
):
    run = make_run(cast.project, cast.engineer)
    before = files_under(media_root)
    response = api(cast.engineer).post(
        f"/api/v1/runs/{run.pk}/predictions/",
        {"file": file_field(content, "predictions.csv"), "benchmark": "holdout"},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    message = response.json()["message"]
    assert_names_the_place(message.removeprefix("file: "), "predictions.csv", line, column)
    assert not PredictionSet.objects.exists()
    assert not Evaluation.objects.exists()
    assert_nothing_stored(media_root, upload_tmp, before)


@pytest.mark.parametrize(("content", "line", "column"), BAD_PREDICTIONS)
def test_bad_predictions_through_the_form_are_refused_and_create_no_run(
    web, cast, bench, media_root, upload_tmp, content, line, column
):
    before = files_under(media_root)
    runs = Run.objects.count()
    response = web(cast.engineer).post(
        f"/p/AUTH/benchmarks/{bench.pk}/submit/",
        {"file": file_field(content, "mine.csv"), "run_name": "new-model", "ticket": ""},
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    error = page.split('data-testid="file-error">', 1)[1].split("</div>", 1)[0]
    assert_names_the_place(error, "mine.csv", line, column)
    assert Run.objects.count() == runs
    assert not PredictionSet.objects.exists()
    assert_nothing_stored(media_root, upload_tmp, before)


def test_an_unknown_ticket_for_a_new_run_is_named_and_nothing_is_created(web, cast, bench, media_root, upload_tmp):
    response = web(cast.engineer).post(
        f"/p/AUTH/benchmarks/{bench.pk}/submit/",
        {"file": file_field("id,score\na,0.9\nb,0.1\n", "p.csv"), "run_name": "x", "ticket": "AUTH-999"},
    )
    assert response.status_code == 400
    assert "There is no ticket AUTH-999 in project AUTH." in html.unescape(response.content.decode())
    assert not Run.objects.exists() and not PredictionSet.objects.exists()


def test_an_unknown_benchmark_is_named(api, cast, bench, media_root, upload_tmp):
    run = make_run(cast.project, cast.engineer)
    response = api(cast.engineer).post(
        f"/api/v1/runs/{run.pk}/predictions/",
        {"file": file_field("id,score\na,0.9\n"), "benchmark": "nope"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["message"] == "benchmark: AUTH has no benchmark 'nope' (benchmarks: holdout)."


# --- Size limit -------------------------------------------------------------------------
def _big_predictions() -> bytes:
    return ("id,score\n" + "".join(f"row{i},0.{i % 10}\n" for i in range(600))).encode()


def test_a_file_past_the_size_limit_is_stopped_through_the_api(api, cast, bench, media_root, upload_tmp, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    run = make_run(cast.project, cast.engineer)
    before = files_under(media_root)
    response = api(cast.engineer).post(
        f"/api/v1/runs/{run.pk}/predictions/",
        {"benchmark": "holdout", "file": file_field(_big_predictions(), "big.csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "file: The file is larger than the limit of 2,048 bytes (2 KiB, UPLOAD_MAX_BYTES)."
    )
    assert not PredictionSet.objects.exists()
    assert_nothing_stored(media_root, upload_tmp, before)


def test_a_file_past_the_size_limit_is_stopped_in_the_form(web, cast, bench, media_root, upload_tmp, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    before = files_under(media_root)
    response = web(cast.lead).post(
        f"/p/AUTH/benchmarks/{bench.pk}/datasets/", {"file": file_field(_big_predictions(), "big.csv")}
    )
    assert response.status_code == 400
    assert "larger than the limit of 2,048 bytes" in response.content.decode()
    assert EvaluationDataset.objects.filter(benchmark=bench).count() == 1
    assert_nothing_stored(media_root, upload_tmp, before)


def test_a_missing_file_is_named(api, cast, bench):
    response = api(cast.lead).post(f"/api/v1/benchmarks/{bench.pk}/datasets/", {"note": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["message"].startswith("file: ")
