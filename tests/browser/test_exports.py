"""Export buttons download CSV files a spreadsheet opens: BOM, the list's rows, formulas kept as text."""

import csv
import io
from pathlib import Path

import pytest

from tests.browser.conftest import login
from tests.experiments.factories import RunFactory, log_history
from tickets import services
from tickets.models import WorkType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HOSTILE = "x');alert(1);('"


def downloaded(page, testid: str) -> tuple[str, list[list[str]]]:
    with page.expect_download() as info:
        page.locator(f"[data-testid={testid}]").click()
    download = info.value
    body = Path(download.path()).read_bytes()
    assert body.startswith("\ufeff".encode())
    return download.suggested_filename, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_backlog_exports_its_tickets(page, cast):
    services.ticket_create(project=cast.project, actor=cast.lead, title=HOSTILE, work_type=WorkType.REVIEW)
    services.ticket_create(project=cast.project, actor=cast.lead, title="=1+1", work_type=WorkType.REVIEW)
    login(page, "stakeholder")
    page.goto("/p/AUTH/backlog/")
    name, rows = downloaded(page, "export-tickets")
    assert name == "AUTH-tickets.csv"
    assert [r[:2] for r in rows[1:]] == [["AUTH-1", HOSTILE], ["AUTH-2", "'=1+1"]]


def test_the_runs_page_exports_the_shown_columns(page, cast):
    run = RunFactory(project=cast.project, name=HOSTILE)
    log_history(run, "val_loss", [0.4, 0.3])
    login(page, "engineer")
    page.goto("/p/AUTH/runs/")
    name, rows = downloaded(page, "export-runs")
    assert name == "AUTH-runs.csv"
    assert rows[1][2] == HOSTILE
    assert "metric:val_loss" in rows[0] and rows[1][rows[0].index("metric:val_loss")] == "0.3"
