"""The Jira import page in a real browser: a dry run, the import, a bad file, a phone-sized screen."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login
from tests.tickets.imports.jira_samples import HOSTILE, ROWS, export
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _choose(page, text: str, name: str = "jira.csv") -> None:
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])


def _fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1400, 390])
def test_a_lead_dry_runs_then_imports_an_export(page, cast, width):
    page.set_viewport_size({"width": width, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "lead")
    page.goto("/p/AUTH/")
    page.locator("[data-testid=import-jira-link]").click()
    page.wait_for_url("**/p/AUTH/import/jira/")
    assert page.locator("#id_dry_run").is_checked()

    _choose(page, export())
    page.get_by_role("button", name="Import").click()
    report = page.locator("[data-testid=import-report]")
    assert "Dry run: nothing was saved" in report.inner_text()
    assert "tickets: 5 created, 0 updated, 0 unchanged" in report.inner_text()
    assert page.locator("[data-testid=import-changes] td", has_text=HOSTILE).count() == 1
    assert "'Blocked by legal'" in page.locator("[data-testid=import-warnings]").inner_text()
    assert not Ticket.objects.exists()
    assert _fits(page, width)

    page.locator("#id_dry_run").uncheck()
    _choose(page, export())
    page.get_by_role("button", name="Import").click()
    assert "Imported" in page.locator("[data-testid=import-report] .card-header").inner_text()
    assert Ticket.objects.filter(project=cast.project).count() == 5
    hostile = Ticket.objects.get(title=HOSTILE)
    page.get_by_role("link", name=hostile.key).click()
    page.wait_for_url(f"**/t/{hostile.key}/")
    assert HOSTILE in page.locator("h1").inner_text()
    assert _fits(page, width)
    assert dialogs == []


def test_a_bad_file_names_the_line_and_column(page, cast):
    login(page, "lead")
    page.goto("/p/AUTH/import/jira/")
    rows = [list(r) for r in ROWS]
    rows[3][9] = "31/Foo/26"
    _choose(page, export(rows))
    page.locator("#id_dry_run").uncheck()
    page.get_by_role("button", name="Import").click()
    errors = page.locator("[data-testid=import-errors]").inner_text()
    assert "line 10, column Created: '31/Foo/26' is not a date" in errors
    assert page.locator("[data-testid=import-report]").count() == 0
    assert not Ticket.objects.exists()
