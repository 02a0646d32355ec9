"""Parquet and gzip/zstd-compressed CSV through the API and the forms: accepted, stored as uploaded with a
columnar copy of each truth, evaluated exactly as CSV is, and refused with the row or line at fault."""

from __future__ import annotations

import gzip
import html

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from experiments.benchmarks import services
from experiments.evaluation import read_truth
from experiments.evaluation.columnar import write_table
from experiments.models import Evaluation, EvaluationDataset, PredictionSet, Run
from tests.experiments.benchmark_helpers import (  # noqa: F401
    file_field,
    files_under,
    make_benchmark,
    make_run,
    media_root_fixture,
    write_binary_case,
)

pytestmark = pytest.mark.django_db

SUFFIX = {"csv": ".csv", "gzip": ".csv.gz", "zstd": ".csv.zst", "parquet": ".parquet"}


@pytest.fixture
def upload_tmp(settings, tmp_path):
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def case(tmp_path):
    return write_binary_case(tmp_path / "case")


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


def _as(path, kind: str, tmp_path) -> bytes:
    target = tmp_path / f"{path.stem}-{kind}{SUFFIX[kind]}"
    return write_table(pcsv.read_csv(path), target, kind).read_bytes()


def _parquet(tmp_path, **columns) -> bytes:
    path = tmp_path / "made.parquet"
    pq.write_table(pa.table(columns), path)
    return path.read_bytes()


def _post_predictions(api, cast, content: bytes, name: str, **extra):
    run = make_run(cast.project, cast.engineer, name)
    return api(cast.engineer).post(
        f"/api/v1/runs/{run.pk}/predictions/",
        {"file": file_field(content, name), "benchmark": "holdout", **extra},
        format="multipart",
    )


# --- accepted -----------------------------------------------------------------------------------------------
def test_predictions_in_every_format_through_the_api_give_the_csv_evaluation(
    api, cast, bench, case, media_root, upload_tmp, tmp_path
):
    results = {}
    for kind in SUFFIX:
        name = f"challenger{SUFFIX[kind]}"
        response = _post_predictions(api, cast, _as(case.challenger, kind, tmp_path), name)
        assert response.status_code == 201, response.content
        stored = PredictionSet.objects.get(original_name=name)
        assert stored.file.endswith(f"{stored.sha256[:12]}{SUFFIX[kind]}")  # kept as uploaded, named by content
        assert (stored.n_rows, stored.n_covered) == (480, 480)
        evaluation = Evaluation.objects.get(predictions=stored)
        services.evaluation_execute(evaluation_id=evaluation.pk)  # what the worker runs
        evaluation.refresh_from_db()
        assert evaluation.status == "succeeded", evaluation.error
        results[kind] = {key: value for key, value in evaluation.result.items() if key != "settings"}
    assert results["parquet"] == results["csv"] == results["gzip"] == results["zstd"]
    assert list(upload_tmp.iterdir()) == []


@pytest.mark.parametrize("kind", ["parquet", "gzip", "zstd"])
def test_a_truth_in_another_format_becomes_a_version_with_a_columnar_copy(
    api, cast, bench, case, media_root, upload_tmp, tmp_path, kind
):
    extra = tmp_path / "v2.csv"
    extra.write_text(case.truth.read_text() + "x-1,1,subject999\nx-2,0,subject999\n")
    response = api(cast.lead).post(
        f"/api/v1/benchmarks/{bench.pk}/datasets/",
        {"file": file_field(_as(extra, kind, tmp_path), f"v2{SUFFIX[kind]}")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    v2 = EvaluationDataset.objects.get(benchmark=bench, version=2)
    assert (v2.n_rows, v2.n_groups, v2.original_name) == (482, 41, f"v2{SUFFIX[kind]}")
    assert v2.file.endswith(SUFFIX[kind])
    columns = media_root / services.columns_relative(v2.file)
    assert pq.ParquetFile(columns).schema_arrow.names == ["id", "label", "group"]
    expected = read_truth(extra, task="binary")
    copy = read_truth(columns, task="binary")
    assert copy.ids.equals(expected.ids) and (copy.y == expected.y).all() and (copy.groups == expected.groups).all()
    # What engineers download is the same whatever the upload's format.
    ids = api(cast.engineer).get(f"/api/v1/benchmarks/{bench.pk}/datasets/2/ids/")
    assert ids.status_code == 200
    lines = b"".join(ids.streaming_content).decode().splitlines()
    assert lines[0] == "id,group" and lines[-1] == "x-2,subject999" and len(lines) == 483
    assert list(upload_tmp.iterdir()) == []


def test_a_dataset_stored_before_columnar_copies_is_still_read(cast, bench, case, media_root):
    dataset = bench.datasets.get()
    (media_root / services.columns_relative(dataset.file)).unlink()
    services.files._truth_cache = None
    truth = services.dataset_truth(dataset)
    assert truth.n_rows == 480 and truth.source.path == media_root / dataset.file


def test_deleting_an_unused_version_removes_its_columnar_copy(cast, bench, case, media_root, tmp_path):
    v1 = bench.datasets.get()
    extra = tmp_path / "v2.csv"
    extra.write_text(case.truth.read_text() + "x,1,s\n")
    v2 = services.dataset_upload(benchmark=bench, user=cast.lead, path=extra, original_name="v2.csv")
    assert len(files_under(media_root)) == 4
    services.dataset_delete(dataset=v2)
    assert files_under(media_root) == sorted([v1.file, services.columns_relative(v1.file)])


# --- refused, with nothing stored ---------------------------------------------------------------------------
BAD_PARQUET_PREDICTIONS = [
    pytest.param(
        {"id": ["s000-a00", None], "score": [0.1, 0.2]}, "p.parquet, row 2, column 1 (id): empty value", id="null-id"
    ),
    pytest.param(
        {"id": ["s000-a00", "s000-a01"], "score": ["0.1", "high"]},
        'p.parquet, row 2, column 2 (score): "high" is not a number',
        id="text-score",
    ),
    pytest.param(
        {"id": ["s000-a00", "s000-a00"], "score": [0.1, 0.2]},
        'p.parquet, row 2, column 1 (id): duplicate id "s000-a00" (first on row 1)',
        id="duplicate-id",
    ),
    pytest.param(
        {"id": ["s000-a00"], "probability": [0.1]},
        'p.parquet, column score: missing column "score"; expected id,score',
        id="missing-column",
    ),
    pytest.param(
        {"id": ["s000-a00"], "score": pa.array([True])},
        "p.parquet, column 2 (score): the column holds true/false values (bool); expected numbers",
        id="wrong-type",
    ),
    pytest.param(
        {"id": ["s000-a00", "nobody"], "score": [0.1, 0.2]},
        'p.parquet, row 2, column 1 (id): id "nobody" is not in the truth file truth.csv',
        id="unknown-id",
    ),
]


@pytest.mark.parametrize(("columns", "message"), BAD_PARQUET_PREDICTIONS)
def test_bad_parquet_predictions_are_refused_naming_row_and_column(
    api, cast, bench, media_root, upload_tmp, tmp_path, columns, message
):
    before, runs = files_under(media_root), Run.objects.count()
    response = _post_predictions(api, cast, _parquet(tmp_path, **columns), "p.parquet")
    assert response.status_code == 400, response.content
    assert response.json()["message"] == f"file: {message}"
    assert not PredictionSet.objects.exists() and not Evaluation.objects.exists()
    assert Run.objects.count() == runs + 1  # the run the test made, nothing more
    assert files_under(media_root) == before and list(upload_tmp.iterdir()) == []


UNREADABLE = [
    pytest.param(lambda good: good[: len(good) // 2], "t.parquet", "cannot be read as Parquet", id="truncated-parquet"),
    pytest.param(lambda good: b"PAR1" + bytes(64), "t.parquet", "cannot be read as Parquet", id="corrupt-parquet"),
    pytest.param(
        lambda good: gzip.compress(b"id,label,group\na,1,g\nb,0,h\n")[:-9],
        "t.csv.gz",
        "the gzip data is truncated or corrupt",
        id="truncated-gzip",
    ),
    pytest.param(
        lambda good: b"\x28\xb5\x2f\xfd" + b"not zstd" * 8, "t.csv.zst", "the zstd data is truncated", id="bad-zstd"
    ),
    pytest.param(
        lambda good: gzip.compress(b"id,label,group\na,1,g\nb,7,h\n"),
        "t.csv.gz",
        "t.csv.gz, line 3, column 2 (label)",
        id="bad-label-in-gzip",
    ),
]


@pytest.mark.parametrize(("make", "name", "message"), UNREADABLE)
def test_an_unreadable_or_bad_truth_is_refused_and_nothing_is_stored(
    api, web, cast, bench, case, media_root, upload_tmp, tmp_path, make, name, message
):
    content = make(_as(case.truth, "parquet", tmp_path))
    before = files_under(media_root)
    response = api(cast.lead).post(
        f"/api/v1/benchmarks/{bench.pk}/datasets/", {"file": file_field(content, name)}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"file: {name}") and message in response.json()["message"]
    form = web(cast.lead).post(f"/p/AUTH/benchmarks/{bench.pk}/datasets/", {"file": file_field(content, name)})
    assert form.status_code == 400
    assert message in html.unescape(form.content.decode()).split('data-testid="file-error">', 1)[1]
    assert EvaluationDataset.objects.filter(benchmark=bench).count() == 1
    assert files_under(media_root) == before and list(upload_tmp.iterdir()) == []


def test_the_forms_accept_parquet_and_compressed_csv(web, cast, bench):
    page = web(cast.lead).get(f"/p/AUTH/benchmarks/{bench.pk}/").content.decode()
    for testid in ("dataset-form", "submit-form"):
        form = page.split(f'data-testid="{testid}"', 1)[1].split("</form>", 1)[0]
        accept = form.split('type="file"', 1)[1].split('accept="', 1)[1].split('"', 1)[0].split(",")
        assert {".csv", ".csv.gz", ".csv.zst", ".parquet"} <= set(accept)
        assert "Parquet" in form


def test_gzip_predictions_through_the_form_are_accepted(web, cast, bench, case, media_root, upload_tmp, tmp_path):
    response = web(cast.engineer).post(
        f"/p/AUTH/benchmarks/{bench.pk}/submit/",
        {"file": file_field(_as(case.challenger, "gzip", tmp_path), "mine.csv.gz"), "run_name": "gz", "ticket": ""},
    )
    assert response.status_code == 302, html.unescape(response.content.decode())
    stored = PredictionSet.objects.get(original_name="mine.csv.gz")
    assert stored.n_rows == 480 and stored.file.endswith(".csv.gz")
    assert list(upload_tmp.iterdir()) == []


def test_a_predictions_upload_checks_against_the_columnar_copy_without_loading_the_truth(
    api, cast, bench, case, media_root, upload_tmp, tmp_path
):
    """The web process checks predictions block by block against the truth's columnar copy: it neither
    loads the truth nor keeps it for the next upload."""
    services.files._truth_cache = None
    response = _post_predictions(api, cast, case.challenger.read_bytes(), "challenger.csv", evaluate="false")
    assert response.status_code == 201, response.content
    assert services.files._truth_cache is None
    bad = case.challenger.read_text().replace("\n", "\nnobody,0.5\n", 1)
    response = _post_predictions(api, cast, bad.encode(), "bad.csv", evaluate="false")
    assert response.status_code == 400
    assert response.json()["errors"]["file"] == [
        'bad.csv, line 2, column 1 (id): id "nobody" is not in the truth file truth.csv'
    ]
    assert services.files._truth_cache is None


def test_a_dataset_stored_before_columnar_copies_checks_predictions_the_same_way(
    api, cast, bench, case, media_root, upload_tmp
):
    bad = case.challenger.read_text().replace("\n", "\nnobody,0.5\n", 1).encode()
    answers = []
    for _ in range(2):
        good = _post_predictions(api, cast, case.challenger.read_bytes(), "challenger.csv", evaluate="false")
        refused = _post_predictions(api, cast, bad, "bad.csv", evaluate="false")
        answers.append((good.status_code, PredictionSet.objects.latest("pk").n_covered, refused.json()))
        (media_root / services.columns_relative(bench.datasets.get().file)).unlink(missing_ok=True)
        services.files._truth_cache = None
    assert answers[0] == answers[1] and answers[0][:2] == (201, 480)
