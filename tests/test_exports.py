"""CSV exports: tickets, runs with chosen columns, evaluations and champion history.

Streamed, UTF-8 with a BOM, formula-safe for spreadsheets, a constant number of queries, and
readable by anyone who may read the list (stakeholders included); outsiders get 404.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from experiments.models import Param
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)
from tests.experiments.factories import RunFactory, log_history
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
HOSTILE = "x');alert(1);('"
READ = [("lead", 200), ("engineer", 200), ("stakeholder", 200), ("outsider", 404), ("anonymous", 401)]


def get(api, cast, who, url):
    return api(None if who == "anonymous" else cast.user(who)).get(url)


def table(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def runs(cast):
    made = []
    for i in range(3):
        run = RunFactory(project=cast.project, name=f"run-{i}")
        log_history(run, "auc", [0.8 + i / 100])
        log_history(run, "loss", [0.5 - i / 100])
        Param.objects.create(run=run, key="lr", value=f"0.{i}")
        made.append(run)
    return made


@pytest.fixture
def world(cast, media_root, tmp_path, settings):
    settings.EVALUATION_RESAMPLES = 200
    case = write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)
    benchmark = make_benchmark(cast.project, cast.lead, case)
    dataset = benchmark.datasets.get()
    baseline = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(benchmark, baseline, cast.lead, note="=cmd|' /C calc'!A0")
    submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    return benchmark


@pytest.mark.parametrize(("who", "status"), READ)
def test_tickets_export_role_matrix(api, cast, who, status):
    TicketFactory(project=cast.project, title=HOSTILE)
    assert get(api, cast, who, "/api/v1/projects/AUTH/tickets/export/").status_code == status


def test_tickets_export_has_every_ticket_with_the_lists_filters_and_safe_cells(api, cast):
    TicketFactory(project=cast.project, title='=HYPERLINK("http://evil")')
    TicketFactory(project=cast.project, title="Gyro features — café", kind="question")
    rows = table(get(api, cast, "stakeholder", "/api/v1/projects/AUTH/tickets/export/"))
    assert rows[0][:5] == ["key", "title", "kind", "work_type", "status"]
    assert [r[:2] for r in rows[1:]] == [["AUTH-1", '\'=HYPERLINK("http://evil")'], ["AUTH-2", "Gyro features — café"]]
    rows = table(get(api, cast, "stakeholder", "/api/v1/projects/AUTH/tickets/export/?kind=question"))
    assert [r[0] for r in rows[1:]] == ["AUTH-2"]
    response = get(api, cast, "stakeholder", "/api/v1/projects/AUTH/tickets/export/?status=finished")
    assert response.status_code == 400 and response.json()["message"].startswith("status:")


@pytest.mark.parametrize("count", [2, 30])
def test_tickets_export_costs_the_same_for_many_tickets(api, cast, count, django_assert_num_queries):
    for _ in range(count):
        TicketFactory(project=cast.project)
    client = api(cast.stakeholder)
    # 1 token, 2 membership+project, 3 the tickets with sprint, epic and assignee joined
    with django_assert_num_queries(3):
        rows = table(client.get("/api/v1/projects/AUTH/tickets/export/"))
    assert len(rows) == count + 1


@pytest.mark.parametrize(("who", "status"), READ)
def test_runs_export_role_matrix(api, cast, runs, who, status):
    assert get(api, cast, who, "/api/v1/projects/AUTH/runs/export/").status_code == status


def test_runs_export_has_the_chosen_metric_and_param_columns(api, cast, runs):
    rows = table(get(api, cast, "engineer", "/api/v1/projects/AUTH/runs/export/?metrics=auc&params=lr"))
    assert rows[0][-2:] == ["metric:auc", "param:lr"]
    assert [(r[2], round(float(r[-2]), 6), r[-1]) for r in rows[1:]] == [
        ("run-2", 0.82, "0.2"),
        ("run-1", 0.81, "0.1"),
        ("run-0", 0.80, "0.0"),
    ]
    rows = table(get(api, cast, "engineer", "/api/v1/projects/AUTH/runs/export/"))
    assert rows[0][-3:] == ["metric:auc", "metric:loss", "param:lr"]  # default: every column
    rows = table(get(api, cast, "engineer", "/api/v1/projects/AUTH/runs/export/?metrics=&params=&status=finished"))
    assert rows[0][-1] == "end_time"


@pytest.mark.parametrize("count", [1, 12])
def test_runs_export_costs_the_same_for_many_runs(api, cast, count, django_assert_num_queries):
    for i in range(count):
        log_history(RunFactory(project=cast.project), "auc", [float(i)])
    client = api(cast.stakeholder)
    # 1 token, 2 membership+project, 3 metric keys, 4 param keys, 5 the runs with their columns
    with django_assert_num_queries(5):
        rows = table(client.get("/api/v1/projects/AUTH/runs/export/"))
    assert len(rows) == count + 1


@pytest.mark.parametrize(("who", "status"), READ)
@pytest.mark.parametrize("what", ["evaluations", "champion-history"])
def test_benchmark_exports_role_matrix(api, cast, world, who, status, what):
    assert get(api, cast, who, f"/api/v1/benchmarks/{world.pk}/{what}/export/").status_code == status


def test_evaluations_and_history_exports(api, cast, world):
    rows = table(get(api, cast, "stakeholder", f"/api/v1/benchmarks/{world.pk}/evaluations/export/?dataset=1"))
    assert rows[0][:3] == ["id", "run_id", "run"]
    assert [r[2] for r in rows[1:]] == ["gbm", "rule"]
    assert {r[15] for r in rows[1:]} >= {"better"}
    rows = table(get(api, cast, "stakeholder", f"/api/v1/benchmarks/{world.pk}/champion-history/export/"))
    assert rows[0][:4] == ["promoted_at", "run", "previous_run", "sprint"]
    assert rows[1][1] == "rule" and rows[1][3] == "between sprints"
    assert rows[1][-1] == "'=cmd|' /C calc'!A0"  # a formula is kept as text
    response = get(api, cast, "stakeholder", f"/api/v1/benchmarks/{world.pk}/evaluations/export/?verdict=great")
    assert response.status_code == 400 and response.json()["message"].startswith("verdict:")


def test_list_pages_offer_the_exports(web, cast, world, runs):
    client = web(cast.stakeholder)
    assert 'data-testid="export-tickets"' in client.get("/p/AUTH/backlog/").content.decode()
    page = client.get("/p/AUTH/runs/").content.decode()
    assert 'href="/api/v1/projects/AUTH/runs/export/?metrics=' in page
    page = client.get(f"/p/AUTH/benchmarks/{world.pk}/").content.decode()
    assert 'data-testid="export-evaluations"' in page and 'data-testid="export-history"' in page
