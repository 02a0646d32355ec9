"""Starting a sprint dated in the future asks to move its dates to today; its charts then start today."""

import datetime
import re

import pytest
from django.utils import timezone

from tests.browser.conftest import login
from tickets import services
from tickets.models import Sprint, WorkType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def future(cast):
    today = timezone.localdate()
    sprint = services.sprint_create(
        project=cast.project,
        name="x');alert(1);('",
        start_date=today + datetime.timedelta(days=7),
        end_date=today + datetime.timedelta(days=20),
    )
    # Planned for earlier, still not started: it comes next whatever its dates say.
    services.sprint_create(
        project=cast.project,
        name="Sprint 5",
        start_date=today - datetime.timedelta(days=3),
        end_date=today + datetime.timedelta(days=10),
    )
    services.ticket_create(
        project=cast.project, actor=cast.lead, title="Gyro", work_type=WorkType.DATA_EXPLORATION, sprint=sprint
    )
    return sprint


def test_starting_a_future_sprint_from_the_backlog_asks_to_move_its_dates(page, cast, future):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    page.locator(f'[data-bs-target="#start-sprint-{future.pk}"]').click()
    modal = page.locator(f"#start-sprint-{future.pk}")
    modal.wait_for(state="visible")
    warning = modal.locator("[data-testid=move-dates]")
    assert "is planned to start on" in warning.inner_text()
    # The form cannot be sent until the lead agrees to move the dates.
    modal.get_by_role("button", name="Start sprint").click()
    assert modal.locator("input[name=move_dates]").evaluate("box => !box.checkValidity()")
    assert Sprint.objects.get(pk=future.pk).state == "planned"
    modal.get_by_label("Move its dates to start today").check()
    modal.get_by_role("button", name="Start sprint").click()
    page.wait_for_load_state()
    sprint = Sprint.objects.get(pk=future.pk)
    today = timezone.localdate()
    assert (sprint.state, sprint.start_date, sprint.end_date) == ("active", today, today + datetime.timedelta(days=13))
    # Its review counts from today: the sprint is there, not "No sprint planned yet".
    page.goto(f"/p/AUTH/demo/sprints/{sprint.pk}/")
    assert "No sprint planned yet" not in page.content()
    assert "Next: Sprint 5" in page.locator("[data-testid=next]").inner_text()


def test_starting_a_future_sprint_from_its_page_confirms_the_new_dates(page, cast, future):
    login(page, "lead")
    page.goto(f"/p/AUTH/sprints/{future.pk}/")
    messages: list[str] = []

    def answer(dialog):
        messages.append(dialog.message)
        dialog.dismiss() if len(messages) == 1 else dialog.accept()

    page.on("dialog", answer)
    start = page.get_by_role("button", name="Start sprint")
    start.click()
    assert re.search(r"starting now moves its dates to", messages[0])
    assert Sprint.objects.get(pk=future.pk).state == "planned"
    start.click()
    page.wait_for_url(re.compile(rf"/p/AUTH/sprints/{future.pk}/$"))
    page.locator(".alert-success").wait_for()
    assert Sprint.objects.get(pk=future.pk).start_date == timezone.localdate()


def test_at_390_px_the_warning_is_readable(browser, live_server, cast, future):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    page = context.new_page()
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    page.locator(f'[data-bs-target="#start-sprint-{future.pk}"]').click()
    warning = page.locator(f"#start-sprint-{future.pk} [data-testid=move-dates]")
    warning.wait_for(state="visible")
    assert warning.bounding_box()["x"] + warning.bounding_box()["width"] <= 390
    context.close()
