"""The evaluation set for engineers: ids without labels, a predictions template, the truth for leads."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import FileResponse, StreamingHttpResponse

from tests.experiments.benchmark_helpers import (  # noqa: F401
    make_benchmark,
    media_root_fixture,
    write_binary_case,
    write_csv,
)

pytestmark = pytest.mark.django_db

ROLES = ["lead", "engineer", "stakeholder", "outsider", "anonymous"]


@pytest.fixture
def benchmark(cast, media_root, tmp_path):
    case = write_binary_case(tmp_path / "case", n_subjects=3, rows_per_subject=4)
    return make_benchmark(cast.project, cast.lead, case)


def fetch(api, cast, who, url):
    client = api(None if who == "anonymous" else cast.user(who))
    return client.get(url)


def rows_of(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("who", "expected"),
    [("lead", 200), ("engineer", 200), ("stakeholder", 403), ("outsider", 404), ("anonymous", 401)],
)
@pytest.mark.parametrize("what", ["ids", "template"])
def test_ids_and_template_are_for_engineers_and_leads(api, cast, benchmark, who, expected, what):
    response = fetch(api, cast, who, f"/api/v1/benchmarks/{benchmark.pk}/datasets/1/{what}/")
    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("who", "expected"),
    [("lead", 200), ("engineer", 403), ("stakeholder", 403), ("outsider", 404), ("anonymous", 401)],
)
def test_the_truth_is_for_leads(api, cast, benchmark, who, expected):
    response = fetch(api, cast, who, f"/api/v1/benchmarks/{benchmark.pk}/datasets/1/truth/")
    assert response.status_code == expected
    if expected == 200:
        assert isinstance(response, FileResponse)
        assert b"".join(response.streaming_content).startswith(b"id,label,group\n")


def test_ids_carry_every_row_and_group_in_file_order_and_no_label(api, cast, benchmark):
    rows = rows_of(fetch(api, cast, "engineer", f"/api/v1/benchmarks/{benchmark.pk}/datasets/v1/ids/"))
    assert rows[0] == ["id", "group"]
    assert rows[1:4] == [["s000-a00", "subject000"], ["s000-a01", "subject000"], ["s000-a02", "subject000"]]
    assert len(rows) == 1 + 12
    truth = benchmark.datasets.get()
    assert all(len(row) == 2 for row in rows) and truth.n_rows == 12


def test_the_template_has_the_tasks_columns(api, cast, benchmark):
    rows = rows_of(fetch(api, cast, "engineer", f"/api/v1/benchmarks/{benchmark.pk}/datasets/1/template/"))
    assert rows[0] == ["id", "score"]
    assert rows[1] == ["s000-a00", ""] and len(rows) == 13


def test_a_multiclass_template_has_a_probability_per_class_and_ids_without_groups(api, cast, media_root, tmp_path):
    truth = write_csv(
        tmp_path / "truth.csv", ["id", "label"], [("a", "cat"), ("b", "dog"), ("c", "cat"), ("d", "bird")]
    )
    benchmark = make_benchmark(
        cast.project,
        cast.lead,
        truth=truth,
        task="multiclass",
        name="animals",
        guardrails={},
        primary_metric="accuracy",
    )
    rows = rows_of(fetch(api, cast, "lead", f"/api/v1/benchmarks/{benchmark.pk}/datasets/1/template/"))
    assert rows[0] == ["id", "label", "p_bird", "p_cat", "p_dog"]
    assert rows[1] == ["a", "", "", "", ""]
    ids = rows_of(fetch(api, cast, "lead", f"/api/v1/benchmarks/{benchmark.pk}/datasets/1/ids/"))
    assert ids == [["id"], ["a"], ["b"], ["c"], ["d"]]


def test_an_unknown_version_or_benchmark_is_404(api, cast, benchmark):
    assert fetch(api, cast, "lead", f"/api/v1/benchmarks/{benchmark.pk}/datasets/9/ids/").status_code == 404
    assert fetch(api, cast, "lead", "/api/v1/benchmarks/999999/datasets/1/ids/").status_code == 404
    assert fetch(api, cast, "lead", f"/api/v1/benchmarks/{benchmark.pk}/datasets/x/ids/").status_code == 404


def test_the_page_offers_the_downloads_by_role(web, cast, benchmark):
    page = web(cast.engineer).get(f"/p/AUTH/benchmarks/{benchmark.pk}/").content.decode()
    assert f'href="/api/v1/benchmarks/{benchmark.pk}/datasets/1/ids/"' in page
    assert "download-template" in page and "download-truth" not in page
    page = web(cast.lead).get(f"/p/AUTH/benchmarks/{benchmark.pk}/").content.decode()
    assert "download-truth" in page
    page = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{benchmark.pk}/").content.decode()
    assert "evaluation-set-downloads" not in page
