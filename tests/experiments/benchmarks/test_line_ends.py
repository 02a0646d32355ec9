"""Dataset and predictions files with CR-only (or mixed) line ends, through the API, the pages and
``manage.py evaluate``: accepted, or refused with a 400 naming the line, never a 500 or a traceback."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from experiments.models import PredictionSet
from tests.experiments.benchmark_helpers import (
    file_field,
    make_benchmark,
    make_run,
    media_root_fixture,  # noqa: F401
    write_binary_case,
)

pytestmark = pytest.mark.django_db


def _cr(text: str) -> bytes:
    return text.replace("\n", "\r").encode()


def _mixed(text: str) -> bytes:
    lines = text.split("\n")
    return "".join(line + ("\r", "\n", "\r\n")[i % 3] for i, line in enumerate(lines) if line).encode()


@pytest.fixture
def case(tmp_path):
    return write_binary_case(tmp_path / "case", n_subjects=10, rows_per_subject=10)


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


@pytest.mark.parametrize("convert", [_cr, _mixed], ids=["cr", "mixed"])
def test_a_dataset_version_with_cr_line_ends_is_accepted_through_the_api(api, cast, bench, case, convert):
    content = convert(case.truth.read_text() + "extra-1,1,subject999\n")
    response = api(cast.lead).post(
        f"/api/v1/benchmarks/{bench.pk}/datasets/", {"file": file_field(content, "v2.csv")}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert bench.datasets.get(version=2).n_rows == bench.datasets.get(version=1).n_rows + 1


@pytest.mark.parametrize("convert", [_cr, _mixed], ids=["cr", "mixed"])
def test_predictions_with_cr_line_ends_are_accepted_through_the_api(api, cast, bench, case, convert):
    run = make_run(cast.project, cast.engineer)
    response = api(cast.engineer).post(
        f"/api/v1/runs/{run.pk}/predictions/",
        {"file": file_field(convert(case.challenger.read_text()), "p.csv"), "benchmark": "holdout", "evaluate": False},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert PredictionSet.objects.get(run=run).n_covered == bench.datasets.get().n_rows


def test_a_bad_value_in_a_cr_file_is_a_400_naming_the_line(api, cast, bench, case):
    lines = case.challenger.read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",abc"
    response = api(cast.engineer).post(
        f"/api/v1/runs/{make_run(cast.project, cast.engineer).pk}/predictions/",
        {"file": file_field(_cr("\n".join(lines) + "\n"), "p.csv"), "benchmark": "holdout"},
        format="multipart",
    )
    assert response.status_code == 400
    assert 'p.csv, line 4, column 2 (score): "abc" is not a number' in response.json()["message"]


def test_pages_accept_cr_files(web, cast, bench, case):
    client = web(cast.lead)
    response = client.post(
        f"/p/AUTH/benchmarks/{bench.pk}/datasets/",
        {"file": file_field(_cr(case.truth.read_text() + "extra-1,1,subject999\n"), "v2.csv")},
    )
    assert response.status_code == 302
    response = client.post(
        f"/p/AUTH/benchmarks/{bench.pk}/submit/",
        {"file": file_field(_cr(case.challenger.read_text()), "p.csv"), "run_name": "cr"},
    )
    assert response.status_code == 302
    assert bench.datasets.count() == 2


def test_the_evaluate_command_reads_cr_files(case, tmp_path):
    files = {}
    for name in ("truth", "challenger"):
        files[name] = tmp_path / f"{name}-cr.csv"
        files[name].write_bytes(_cr(getattr(case, name).read_text()))
    out = io.StringIO()
    call_command("evaluate", "--task=binary", f"--truth={files['truth']}", f"--predictions={files['challenger']}",
                 "--resamples=50", "--json", stdout=out)  # fmt: skip
    with_cr = json.loads(out.getvalue())
    out = io.StringIO()
    call_command("evaluate", "--task=binary", f"--truth={case.truth}", f"--predictions={case.challenger}",
                 "--resamples=50", "--json", stdout=out)  # fmt: skip
    with_lf = json.loads(out.getvalue())
    assert (with_cr["n_rows"], with_cr["metrics"]) == (with_lf["n_rows"], with_lf["metrics"])
