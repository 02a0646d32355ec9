import datetime

import pytest

from tests.browser.conftest import login
from tickets import services
from tickets.models import WorkType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_sees_project_and_manages_members(page, cast):
    login(page, "lead")
    card = page.locator("[data-testid=project-list]").get_by_text("AUTH", exact=True)
    card.click()
    page.wait_for_url("**/p/AUTH/")
    assert page.locator("[data-testid=current-role]").inner_text() == "Lead"

    page.get_by_role("link", name="Members").first.click()
    page.wait_for_url("**/p/AUTH/members/")
    rows = page.locator("[data-testid=members-table] tbody tr")
    assert rows.count() == 3

    page.fill("#id_username", "outsider")
    page.select_option("#id_role", "stakeholder")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_selector("tr[data-username=outsider]")
    assert "outsider joined AUTH as stakeholder" in page.locator(".alert-success").inner_text()


def test_stakeholder_sees_no_edit_controls(page, cast):
    login(page, "stakeholder")
    page.goto("/p/AUTH/members/")
    assert page.locator("[data-testid=current-role]").inner_text() == "Stakeholder"
    assert page.locator("[data-testid=members-table] tbody tr").count() == 3
    assert page.locator("[data-testid=add-member]").count() == 0
    assert page.locator("form[action*='/role/'], form[action*='/remove/'], select").count() == 0
    assert page.get_by_role("button", name="Remove").count() == 0


def test_wrong_password_is_explained(page, cast):
    page.goto("/login/")
    page.fill("#id_username", "lead")
    page.fill("#id_password", "nope")
    page.click("button[type=submit]")
    assert "correct username and password" in page.locator(".alert-danger").inner_text()


def test_overview_leads_to_the_current_sprint_and_recent_tickets(page, cast):
    sprint = services.sprint_create(
        project=cast.project,
        name="Sprint 7",
        goal="A calibrated model.",
        start_date=datetime.date(2026, 11, 23),
        end_date=datetime.date(2026, 12, 6),
    )
    services.sprint_start(sprint=sprint, actor=cast.lead)
    ticket = services.ticket_create(
        project=cast.project,
        actor=cast.lead,
        title="Calibrate the scores",
        work_type=WorkType.ALGORITHM_DEVELOPMENT,
        sprint=sprint,
    )
    login(page, "engineer")
    page.goto("/p/AUTH/")
    card = page.locator("[data-testid=current-sprint]")
    assert "0 of 1 ticket done" in card.inner_text()
    card.get_by_role("link", name="Sprint 7").click()
    page.wait_for_url(f"**/p/AUTH/sprints/{sprint.pk}/")

    page.goto("/p/AUTH/")
    page.locator("[data-testid=recent-tickets]").get_by_role("link", name="Calibrate the scores").click()
    page.wait_for_url(f"**/t/{ticket.key}/")
    assert "Calibrate the scores" in page.locator("h1").inner_text()
