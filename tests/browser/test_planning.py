"""The planning journey in a real browser: drag-and-drop persists, refusals revert, stakeholders read only."""

import datetime
import re

import pytest

from tests.browser.conftest import login
from tests.factories import EpicFactory
from tickets import services
from tickets.models import Reassessment, Sprint, Ticket, TicketKind, WorkType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plan(cast):
    """An active sprint with a question and a code ticket in progress, a planned sprint, and a backlog."""
    epic = EpicFactory(project=cast.project, title="Owner recognition")
    today = datetime.date.today()
    active = services.sprint_create(
        project=cast.project,
        name="Sprint 4",
        goal="Typing model on the phone",
        start_date=today,
        end_date=today + datetime.timedelta(days=13),
    )
    planned = services.sprint_create(
        project=cast.project,
        name="Sprint 5",
        start_date=today + datetime.timedelta(days=14),
        end_date=today + datetime.timedelta(days=27),
    )

    def make(title, **fields):
        fields.setdefault("work_type", WorkType.ALGORITHM_DEVELOPMENT)
        return services.ticket_create(project=cast.project, actor=cast.lead, title=title, epic=epic, **fields)

    question = make(
        "Does motion add signal?", kind=TicketKind.QUESTION, sprint=active, question="Does it?", hypothesis="Yes."
    )
    code = make("Gyro features", sprint=active, assignee=cast.engineer)
    make("Walking sessions")  # AUTH-3, backlog
    make("Error dashboard", work_type=WorkType.RESULT_ANALYSIS)  # AUTH-4, backlog
    services.sprint_start(sprint=active, actor=cast.lead)
    services.ticket_transition(ticket=question, actor=cast.engineer, status="in_progress")
    services.ticket_transition(ticket=code, actor=cast.engineer, status="in_progress")
    return {"active": active, "planned": planned}


def drag(page, source, target) -> None:
    """Press on ``source``, glide onto ``target`` in small steps and release (SortableJS needs the moves)."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    end = target.bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2 + 2, steps=2)
    page.mouse.up()


def test_lead_drags_a_backlog_ticket_into_a_sprint_and_it_stays_there(page, cast, plan):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    sprint_list = page.locator(f"#sprint-list-{plan['planned'].pk}")
    assert sprint_list.locator(".ticket-row").count() == 0
    handle = page.locator('#backlog-list [data-key="AUTH-3"] .drag-handle')
    with page.expect_response(re.compile(r"/api/v1/projects/AUTH/tickets/move/$")) as moved:
        drag(page, handle, sprint_list)
    assert moved.value.status == 200
    page.reload()
    assert page.locator(f'#sprint-list-{plan["planned"].pk} [data-key="AUTH-3"]').count() == 1
    assert page.locator('#backlog-list [data-key="AUTH-3"]').count() == 0
    assert Ticket.objects.get(number=3).sprint_id == plan["planned"].pk
    assert page.locator(f'[data-count-for="sprint-list-{plan["planned"].pk}"]').inner_text() == "1"


def test_lead_reranks_the_backlog(page, cast, plan):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    first = page.locator('#backlog-list [data-key="AUTH-3"]')
    with page.expect_response(re.compile(r"/tickets/move/$")) as moved:
        drag(page, page.locator('#backlog-list [data-key="AUTH-4"] .drag-handle'), first)
    assert moved.value.status == 200
    page.reload()
    assert page.locator("#backlog-list .ticket-row").evaluate_all("rows => rows.map(r => r.dataset.key)") == [
        "AUTH-4",
        "AUTH-3",
    ]


def test_a_refused_drop_goes_back_and_says_why(page, cast, plan):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    # Meanwhile someone closes Sprint 4: the page still offers it as a drop target.
    services.sprint_close(sprint=plan["active"], actor=cast.lead, carry_over_to=None)
    with page.expect_response(re.compile(r"/tickets/move/$")) as moved:
        drag(
            page,
            page.locator('#backlog-list [data-key="AUTH-3"] .drag-handle'),
            page.locator(f"#sprint-list-{plan['active'].pk}"),
        )
    assert moved.value.status == 400
    error = page.locator("[data-testid=drop-error]")
    error.wait_for()
    assert "AUTH-3 was not moved: sprint: Sprint 4 is closed; closed sprints are frozen." in error.inner_text()
    assert page.locator('#backlog-list [data-key="AUTH-3"]').count() == 1
    assert Ticket.objects.get(number=3).sprint is None


def test_engineer_drags_a_card_to_review_on_the_board(page, cast, plan):
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    card = page.locator("[data-testid=card-AUTH-2]")
    assert page.locator("[data-testid=column-in_progress] [data-testid=card-AUTH-2]").count() == 1
    with page.expect_response(re.compile(r"/api/v1/tickets/AUTH-2/$")) as saved:
        drag(page, card, page.locator("[data-testid=column-review] .board-cards"))
    assert saved.value.status == 200
    page.reload()
    assert page.locator("[data-testid=column-review] [data-testid=card-AUTH-2]").count() == 1
    assert Ticket.objects.get(number=2).status == "review"


def test_a_question_cannot_be_dragged_to_done_without_an_answer(page, cast, plan):
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    with page.expect_response(re.compile(r"/api/v1/tickets/AUTH-1/$")) as refused:
        drag(page, page.locator("[data-testid=card-AUTH-1]"), page.locator("[data-testid=column-done] .board-cards"))
    assert refused.value.status == 400
    error = page.locator("[data-testid=column-done] [data-testid=drop-error]")
    error.wait_for()
    assert "AUTH-1 is a question: it needs answer, outcome before it can be done" in error.inner_text()
    assert page.locator("[data-testid=column-in_progress] [data-testid=card-AUTH-1]").count() == 1
    assert Ticket.objects.get(number=1).status == "in_progress"


def test_skipping_on_the_board_asks_for_a_reason(page, cast, plan):
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    drag(page, page.locator("[data-testid=card-AUTH-2]"), page.locator("[data-testid=column-skipped] .board-cards"))
    page.locator("#skip-modal").wait_for(state="visible")
    page.locator("#skip-modal button[type=submit]").click()  # no reason: refused in the dialog
    assert "is-invalid" in page.locator("#skip-reason").get_attribute("class")
    page.fill("#skip-reason", "Motion was refuted")
    with page.expect_response(re.compile(r"/api/v1/tickets/AUTH-2/$")):
        page.locator("#skip-modal button[type=submit]").click()
    page.reload()
    assert page.locator("[data-testid=column-skipped] [data-testid=card-AUTH-2]").count() == 1
    assert Ticket.objects.get(number=2).skip_reason == "Motion was refuted"


def test_stakeholder_sees_no_drag_handles(page, cast, plan):
    login(page, "stakeholder")
    for url in ("/p/AUTH/backlog/", "/p/AUTH/board/", "/t/AUTH-1/"):
        page.goto(url)
        assert page.locator(".ticket-row, .board-card").count() >= (0 if url.startswith("/t/") else 2)
        assert page.locator(".drag-handle, [data-select], .draggable").count() == 0
        # Watch (a ticket's only POST form for a stakeholder) changes only their own inbox.
        assert (
            page.locator("main form[method=post]:not([data-testid=watch-form]), [data-testid=quick-create]").count()
            == 0
        )
        assert page.get_by_role("button", name=re.compile("Close sprint|Start|New sprint|Add")).count() == 0
    # Dragging a card does nothing: no request is made and nothing changes.
    page.goto("/p/AUTH/board/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    drag(page, page.locator("[data-testid=card-AUTH-2]"), page.locator("[data-testid=column-review] .board-cards"))
    page.wait_for_timeout(300)
    assert requests == [] and Ticket.objects.get(number=2).status == "in_progress"


def test_engineer_adds_a_ticket_inline(page, cast, plan):
    login(page, "engineer")
    page.goto("/p/AUTH/backlog/")
    form = page.locator("[data-testid=quick-create]")
    form.locator("[name=title]").fill("Do left-handed owners need their own model?")
    form.locator("[name=kind]").select_option("question")
    form.locator("button[type=submit]").click()
    page.locator('#backlog-list [data-key="AUTH-5"]').wait_for()
    assert "AUTH-5 added at the bottom of the backlog" in page.locator("[data-testid=quick-create]").inner_text()
    form = page.locator("[data-testid=quick-create]")
    form.locator("button[type=submit]").click()  # empty title
    page.locator("[data-testid=quick-create] .invalid-feedback").wait_for()
    assert "Title: This field is required." in page.locator("[data-testid=quick-create]").inner_text()
    assert Ticket.objects.get(number=5).kind == "question"


def test_lead_filters_the_backlog(page, cast, plan):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    with page.expect_response(re.compile(r"/p/AUTH/backlog/\?")):
        page.locator("[data-testid=filters] [name=work_type]").select_option("result_analysis")
    page.wait_for_url(re.compile(r"work_type=result_analysis"))
    assert page.locator("#backlog-list .ticket-row").evaluate_all("rows => rows.map(r => r.dataset.key)") == ["AUTH-4"]


def test_lead_closes_the_sprint_through_the_dialog(page, cast, plan):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    page.get_by_role("button", name="Close sprint").first.click()
    dialog = page.locator("#close-sprint-modal")
    dialog.wait_for(state="visible")
    assert dialog.locator("#carry-backlog").is_visible()
    dialog.locator(f"#carry-{plan['planned'].pk}").check()
    dialog.locator("button[type=submit]").click()
    page.wait_for_url("**/p/AUTH/backlog/")
    assert (
        "Sprint 4 closed: 0 completed, 0 skipped, 2 carried over to Sprint 5."
        in page.locator(".alert-success").inner_text()
    )
    assert Sprint.objects.get(pk=plan["active"].pk).state == "closed"
    keys = page.locator(f"#sprint-list-{plan['planned'].pk} .ticket-row").evaluate_all("r => r.map(x => x.dataset.key)")
    assert keys == ["AUTH-1", "AUTH-2"]


def test_lead_answers_then_reassesses(page, cast, plan):
    login(page, "lead")
    page.goto("/t/AUTH-1/")
    page.fill("#id_answer", "AUC rose by **0.004**: no real gain.")
    page.locator("label[for=outcome-refuted]").click()
    page.get_by_role("button", name="Answer and close").click()
    page.wait_for_url("**/t/AUTH-1/")
    assert page.locator("[data-testid=ticket-status]").inner_text().strip() == "Done"
    page.get_by_role("link", name="Reassess the plan").click()
    page.wait_for_url("**/t/AUTH-1/reassess/")
    row = page.locator('.decision-row[data-key="AUTH-2"]')
    row.locator("input[value=skip]").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Record the reassessment").click()
    page.locator("[data-testid=reassess-error]").wait_for()  # a skip needs a reason
    row = page.locator('.decision-row[data-key="AUTH-2"]')
    row.locator("[name='AUTH-2-reason']").fill("Motion was refuted")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Record the reassessment").click()
    page.wait_for_url("**/t/AUTH-1/")
    assert "Reassessment recorded: 1 of" in page.locator(".alert-success").inner_text()
    assert page.locator("[data-testid=reassessments]").is_visible()
    assert Reassessment.objects.get().decisions.get(ticket__number=2).decision == "skip"
    assert Ticket.objects.get(number=2).status == "skipped"


def test_lead_moves_several_selected_tickets_at_once(page, cast, plan):
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    bar = page.locator("[data-testid=bulk-bar]")
    assert not bar.is_visible()
    page.locator('[data-key="AUTH-4"] [data-select]').check()
    page.locator('[data-key="AUTH-3"] [data-select]').check()
    assert bar.is_visible() and "2 selected" in bar.inner_text()
    bar.locator("[data-bulk-target]").select_option(str(plan["planned"].pk))
    with page.expect_response(re.compile(r"/tickets/move/$")) as moved:
        bar.locator("[data-bulk-move]").click()
    assert moved.value.status == 200
    target = page.locator(f"#sprint-list-{plan['planned'].pk}")
    target.locator('[data-key="AUTH-3"]').wait_for()
    # Moved in page order (top of the backlog first), and the selection is gone.
    assert target.locator(".ticket-row").evaluate_all("rows => rows.map(r => r.dataset.key)") == ["AUTH-3", "AUTH-4"]
    assert not bar.is_visible()
    assert set(Ticket.objects.filter(sprint=plan["planned"]).values_list("number", flat=True)) == {3, 4}


def test_only_those_allowed_see_and_use_the_new_project_form(page, cast):
    from django.contrib.auth.models import Permission

    login(page, "engineer")
    assert page.get_by_role("button", name="New project").count() == 0
    page.context.clear_cookies()
    cast.lead.user_permissions.add(Permission.objects.get(content_type__app_label="tickets", codename="add_project"))
    login(page, "lead")
    page.get_by_role("button", name="New project").click()
    page.fill("#id_key", "VOICE")
    page.fill("#id_name", "Voice ID")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r".*/p/VOICE/$"))
    assert page.get_by_role("heading", name=re.compile("Voice ID")).count() >= 1
