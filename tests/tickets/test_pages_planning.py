"""Planning pages: who may see and do what, what each role is offered, and constant query counts."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import EpicFactory
from tickets import services
from tickets.models import Comment, Epic, Reassessment, Sprint, Ticket

pytestmark = pytest.mark.django_db

PAGE = [(None, 302), ("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)]
ENGINEER_PAGE = [(None, 302), ("outsider", 404), ("stakeholder", 403), ("engineer", 200), ("lead", 200)]
LEAD_PAGE = [(None, 302), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)]


def engineer_post(ok=302):
    return [(None, 302), ("outsider", 404), ("stakeholder", 403), ("engineer", ok), ("lead", ok)]


def lead_post(ok=302):
    return [(None, 302), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", ok)]


def urls(scene) -> dict[str, str]:
    return {
        "backlog": "/p/AUTH/backlog/",
        "board": "/p/AUTH/board/",
        "epics": "/p/AUTH/epics/",
        "epic": f"/p/AUTH/epics/{scene.epic.pk}/",
        "sprints": "/p/AUTH/sprints/",
        "sprint": f"/p/AUTH/sprints/{scene.active.pk}/",
        "ticket": "/t/AUTH-1/",
    }


@pytest.mark.parametrize("page", ["backlog", "board", "epics", "epic", "sprints", "sprint", "ticket"])
@pytest.mark.parametrize(("who", "status"), PAGE)
def test_read_pages_role_matrix(web, cast, scene, page, who, status):
    response = web(cast.user(who) if who else None).get(urls(scene)[page])
    assert response.status_code == status
    if status == 302:
        assert response.url.startswith("/login/")


@pytest.mark.parametrize("url", ["/p/AUTH/tickets/new/", "/t/AUTH-2/edit/"])
@pytest.mark.parametrize(("who", "status"), ENGINEER_PAGE)
def test_edit_pages_role_matrix(web, cast, scene, url, who, status):
    assert web(cast.user(who) if who else None).get(url).status_code == status


@pytest.mark.parametrize(("who", "status"), LEAD_PAGE)
def test_reassess_page_role_matrix(web, cast, scene, who, status):
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.lead, answer="No", outcome="refuted")
    assert web(cast.user(who) if who else None).get("/t/AUTH-1/reassess/").status_code == status


# --- What each role is offered ----------------------------------------------------------
PLANNING_CONTROLS = ["drag-handle", "data-can-plan", "data-select", "Close sprint", "New sprint"]
EDIT_CONTROLS = ['data-testid="quick-create"', "/tickets/new/", "New ticket"]


def test_the_lead_gets_planning_controls(web, cast, scene):
    page = web(cast.lead).get("/p/AUTH/backlog/").content.decode()
    for control in PLANNING_CONTROLS + EDIT_CONTROLS:
        assert control in page, control


def test_engineers_add_tickets_but_do_not_plan(web, cast, scene):
    page = web(cast.engineer).get("/p/AUTH/backlog/").content.decode()
    for control in EDIT_CONTROLS:
        assert control in page, control
    for control in PLANNING_CONTROLS:
        assert control not in page, control


@pytest.mark.parametrize("page", ["backlog", "board", "epics", "epic", "sprints", "sprint", "ticket"])
def test_stakeholders_see_everything_read_only(web, cast, scene, page):
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.lead, answer="No", outcome="refuted")
    services.comment_create(ticket=scene.tickets[0], author=cast.engineer, body="A comment")
    html = web(cast.stakeholder).get(urls(scene)[page]).content.decode()
    # The only form that changes anything is the log-out button (filters are read-only GET forms),
    # besides Watch on a ticket, which changes only the stakeholder's own inbox.
    assert html.count('method="post"') - html.count('data-testid="watch-form"') == 1 and 'action="/logout/"' in html
    assert "hx-post" not in html
    for control in [*PLANNING_CONTROLS, *EDIT_CONTROLS, "data-can-edit", "drag", "/edit/", "Edit", "Reassess the plan"]:
        assert control not in html, control


def test_the_ticket_page_shows_the_answer_and_its_timeline(web, cast, scene):
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.engineer, answer="AUC +0.004", outcome="refuted")
    services.comment_create(ticket=scene.tickets[0], author=cast.lead, body="Thanks, **clear**.")
    html = web(cast.lead).get("/t/AUTH-1/").content.decode()
    assert "AUC +0.004" in html and "outcome-refuted" in html
    assert "<strong>clear</strong>" in html
    for line in ["created the ticket in", "changed status from", "set outcome to", "answered"]:
        assert line in html, line
    assert "Reassess the plan" in html


def test_the_ticket_page_has_a_hook_for_other_apps(web, cast, scene, settings, tmp_path):
    from tickets import extensions

    (tmp_path / "panel.html").write_text('<div id="extra-panel">{{ panel.note }} for {{ ticket.key }}</div>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]

    def provider(request, ticket):
        return extensions.TicketPanel(template="panel.html", context={"note": "3 runs"})

    extensions.register_ticket_panel(provider)
    try:
        html = web(cast.stakeholder).get("/t/AUTH-1/").content.decode()
    finally:
        extensions._providers.remove(provider)
    assert '<div id="extra-panel">3 runs for AUTH-1</div>' in html


# --- Writes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_quick_create_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post(
        "/p/AUTH/backlog/tickets/", {"title": "Quick one", "kind": "question", "work_type": "review"}
    )
    assert response.status_code == status
    assert Ticket.objects.filter(title="Quick one").exists() == (who in ("engineer", "lead"))


def test_quick_create_through_htmx_returns_the_row_and_a_fresh_form(web, cast, scene):
    response = web(cast.engineer).post(
        "/p/AUTH/backlog/tickets/",
        {"title": "Quick one", "kind": "question", "work_type": "review"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-swap-oob="beforeend:#backlog-list"' in html and 'data-key="AUTH-6"' in html
    assert "AUTH-6</a> added at the bottom of the backlog" in html


def test_quick_create_errors_come_back_in_the_form(web, cast, scene):
    response = web(cast.engineer).post(
        "/p/AUTH/backlog/tickets/", {"title": "", "kind": "code", "work_type": "review"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "Title: This field is required." in response.content.decode()
    assert Ticket.objects.count() == 5


@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_ticket_create_page_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post(
        "/p/AUTH/tickets/new/",
        {"title": "Full form", "kind": "code", "work_type": "deployment", "assignee": "engineer"},
    )
    assert response.status_code == status
    created = Ticket.objects.filter(title="Full form").first()
    assert (created is not None) == (who in ("engineer", "lead"))
    if created:
        assert response.url == f"/t/{created.key}/" and created.assignee == cast.engineer


def test_ticket_form_errors_are_shown_by_the_field(web, cast, scene):
    response = web(cast.lead).post(
        "/p/AUTH/tickets/new/", {"title": "x", "kind": "code", "work_type": "review", "deliverable_url": "ftp:/nope"}
    )
    assert response.status_code == 400
    assert "Enter a valid URL." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_ticket_edit_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post(
        "/t/AUTH-3/edit/", {"title": "Renamed", "kind": "code", "work_type": "review", "assignee": "lead"}
    )
    assert response.status_code == status
    ticket = Ticket.objects.get(number=3)
    assert (ticket.title == "Renamed") == (status == 302 and who is not None)


def test_engineers_cannot_move_tickets_through_the_edit_form(web, cast, scene):
    web(cast.engineer).post(
        "/t/AUTH-3/edit/", {"title": "x", "kind": "code", "work_type": "review", "sprint": scene.active.pk}
    )
    assert Ticket.objects.get(number=3).sprint is None


@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_status_change_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post("/t/AUTH-2/status/", {"status": "in_progress"})
    assert response.status_code == status
    assert (Ticket.objects.get(number=2).status == "in_progress") == (who in ("engineer", "lead"))


def test_a_refused_status_change_is_explained_on_the_ticket_page(web, cast, scene):
    response = web(cast.engineer).post("/t/AUTH-2/status/", {"status": "skipped", "reason": ""})
    assert response.status_code == 400
    assert "Say why AUTH-2 is skipped: skipping needs a reason." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_answer_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post("/t/AUTH-1/answer/", {"answer": "No.", "outcome": "refuted"})
    assert response.status_code == status
    assert (Ticket.objects.get(number=1).outcome == "refuted") == (who in ("engineer", "lead"))


def test_answer_errors_are_shown_in_the_form(web, cast, scene):
    response = web(cast.engineer).post("/t/AUTH-1/answer/", {"answer": "", "outcome": "refuted"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_comment_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post("/t/AUTH-1/comments/", {"body": "Hello"})
    assert response.status_code == status
    assert Comment.objects.filter(body="Hello").exists() == (who in ("engineer", "lead"))


@pytest.mark.parametrize(("who", "status"), engineer_post())
def test_comment_delete_role_matrix(web, cast, scene, who, status):
    comment = services.comment_create(ticket=scene.tickets[0], author=cast.engineer, body="bye")
    response = web(cast.user(who) if who else None).post(f"/t/AUTH-1/comments/{comment.pk}/delete/")
    assert response.status_code == status
    assert Comment.objects.filter(pk=comment.pk).exists() == (who not in ("engineer", "lead"))


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_ticket_delete_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post("/t/AUTH-3/delete/")
    assert response.status_code == status
    assert Ticket.objects.filter(number=3).exists() == (who != "lead")


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_reassess_post_role_matrix(web, cast, scene, who, status):
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.lead, answer="No", outcome="refuted")
    response = web(cast.user(who) if who else None).post(
        "/t/AUTH-1/reassess/",
        {
            "note": "Out",
            "AUTH-2-decision": "skip",
            "AUTH-2-reason": "Refuted",
            "AUTH-2-title": "Gyro features",
            "AUTH-2-kind": "code",
            "AUTH-2-work_type": "algorithm_development",
        },
    )
    assert response.status_code == status
    assert Reassessment.objects.exists() == (who == "lead")
    assert (Ticket.objects.get(number=2).status == "skipped") == (who == "lead")


def test_reassess_errors_are_put_on_the_row(web, cast, scene):
    services.ticket_answer(ticket=scene.tickets[0], actor=cast.lead, answer="No", outcome="refuted")
    response = web(cast.lead).post(
        "/t/AUTH-1/reassess/",
        {"AUTH-2-decision": "skip", "AUTH-2-reason": "", "AUTH-2-kind": "code", "AUTH-2-work_type": "review"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Say why AUTH-2 is skipped: skipping needs a reason." in html and "has-error" in html
    assert not Reassessment.objects.exists()


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_sprint_create_role_matrix(web, cast, who, status):
    response = web(cast.user(who) if who else None).post(
        "/p/AUTH/sprints/", {"name": "S9", "start_date": "2027-01-04", "end_date": "2027-01-15"}
    )
    assert response.status_code == status
    assert Sprint.objects.filter(name="S9").exists() == (who == "lead")


def test_sprint_form_errors_are_shown(web, cast):
    response = web(cast.lead).post(
        "/p/AUTH/sprints/", {"name": "S9", "start_date": "2027-01-04", "end_date": "2027-01-01"}
    )
    assert response.status_code == 400
    assert "The sprint must end on or after its start date." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_sprint_edit_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post(
        f"/p/AUTH/sprints/{scene.planned.pk}/",
        {"name": "Renamed", "goal": "", "start_date": "2027-01-04", "end_date": "2027-01-15"},
    )
    assert response.status_code == status
    assert (Sprint.objects.get(pk=scene.planned.pk).name == "Renamed") == (who == "lead")


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_sprint_close_then_start_role_matrix(web, cast, scene, who, status):
    client = web(cast.user(who) if who else None)
    response = client.post(f"/p/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": "backlog"})
    assert response.status_code == status
    response = client.post(f"/p/AUTH/sprints/{scene.planned.pk}/start/", {"next": "/p/AUTH/backlog/"})
    assert response.status_code == status
    states = (Sprint.objects.get(pk=scene.active.pk).state, Sprint.objects.get(pk=scene.planned.pk).state)
    assert states == (("closed", "active") if who == "lead" else ("active", "planned"))
    if who == "lead":
        assert response.url == "/p/AUTH/backlog/"


def test_closing_from_the_page_reports_what_happened(web, cast, scene):
    response = web(cast.lead).post(
        f"/p/AUTH/sprints/{scene.active.pk}/close/", {"carry_over_to": str(scene.planned.pk)}, follow=True
    )
    assert "Now closed: 0 completed, 0 skipped, 2 carried over to Next." in response.content.decode()
    assert Ticket.objects.filter(sprint=scene.planned).count() == 3


def test_starting_a_second_sprint_is_explained(web, cast, scene):
    response = web(cast.lead).post(f"/p/AUTH/sprints/{scene.planned.pk}/start/", follow=True)
    assert "Now is still active; close it before starting Next." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_sprint_delete_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post(f"/p/AUTH/sprints/{scene.planned.pk}/delete/")
    assert response.status_code == status
    assert Sprint.objects.filter(pk=scene.planned.pk).exists() == (who != "lead")


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_epic_create_role_matrix(web, cast, who, status):
    response = web(cast.user(who) if who else None).post(
        "/p/AUTH/epics/", {"title": "E", "goal": "G", "status": "open"}
    )
    assert response.status_code == status
    assert Epic.objects.filter(title="E").exists() == (who == "lead")


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_epic_edit_role_matrix(web, cast, scene, who, status):
    response = web(cast.user(who) if who else None).post(
        f"/p/AUTH/epics/{scene.epic.pk}/", {"title": "Renamed", "goal": "G", "status": "done"}
    )
    assert response.status_code == status
    assert (Epic.objects.get(pk=scene.epic.pk).title == "Renamed") == (who == "lead")


@pytest.mark.parametrize(("who", "status"), lead_post())
def test_epic_delete_role_matrix(web, cast, who, status):
    epic = EpicFactory(project=cast.project)
    response = web(cast.user(who) if who else None).post(f"/p/AUTH/epics/{epic.pk}/delete/")
    assert response.status_code == status
    assert Epic.objects.filter(pk=epic.pk).exists() == (who != "lead")


# --- Filters and query counts -----------------------------------------------------------
def test_backlog_filters(web, cast, scene):
    client = web(cast.stakeholder)
    html = client.get("/p/AUTH/backlog/?kind=question").content.decode()
    assert 'data-key="AUTH-1"' in html and 'data-key="AUTH-2"' not in html
    html = client.get(f"/p/AUTH/backlog/?epic={scene.epic.pk}&q=gyro").content.decode()
    assert 'data-key="AUTH-2"' in html and 'data-key="AUTH-3"' not in html
    html = client.get("/p/AUTH/backlog/?epic=bogus").content.decode()
    assert "epic: Pick an epic. (filter ignored)" in html and 'data-key="AUTH-3"' in html


def test_filtering_through_htmx_returns_only_the_plan(web, cast, scene):
    response = web(cast.lead).get("/p/AUTH/backlog/?assignee=lead", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="plan")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="plan"') and "<html" not in html
    assert 'data-key="AUTH-4"' in html and 'data-key="AUTH-3"' not in html


def _grow(cast, scene, make_ticket, n: int) -> None:
    epics = [EpicFactory(project=cast.project) for _ in range(3)]
    for i in range(n):
        make_ticket(
            f"Extra {i}",
            epic=epics[i % 3],
            assignee=[cast.lead, cast.engineer, None][i % 3],
            sprint=[None, scene.active, scene.planned][i % 3],
            estimate=i % 5,
        )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", ["backlog", "board", "epics", "epic", "sprints", "sprint"])
def test_list_pages_do_a_constant_number_of_queries(web, cast, scene, make_ticket, page):
    client = web(cast.lead)
    url = urls(scene)[page]
    few = _queries(client, url)
    _grow(cast, scene, make_ticket, 30)
    assert _queries(client, url) == few


def test_backlog_queries_are_pinned(web, cast, scene, make_ticket):
    client = web(cast.lead)
    _grow(cast, scene, make_ticket, 30)
    # session, user, membership with project, open sprints, epics, members with users,
    # the plan's tickets, last sprint's end (new-sprint form); the memberships fill the switcher too.
    assert _queries(client, "/p/AUTH/backlog/") == 8
    # Without the lead's new-sprint form.
    assert _queries(web(cast.stakeholder), "/p/AUTH/backlog/") == 7


def test_the_ticket_page_does_a_constant_number_of_queries(web, cast, scene):
    client = web(cast.lead)
    ticket = scene.tickets[0]
    few = _queries(client, "/t/AUTH-1/")
    for i in range(10):
        services.comment_create(ticket=ticket, author=cast.engineer, body=f"c{i}")
        services.ticket_update(ticket=ticket, actor=cast.lead, assignee=[cast.lead, cast.engineer][i % 2])
    assert _queries(client, "/t/AUTH-1/") == few


def test_started_sprints_link_to_their_dashboard_and_review(web, cast, scene):
    html = web(cast.stakeholder).get(f"/p/AUTH/sprints/{scene.active.pk}/").content.decode()
    assert f'href="/p/AUTH/dashboard/sprints/{scene.active.pk}/"' in html
    assert 'data-testid="sprint-review-link"' in html
    planned = web(cast.stakeholder).get(f"/p/AUTH/sprints/{scene.planned.pk}/").content.decode()
    assert "/dashboard/sprints/" not in planned


def test_board_filters_by_assignee_epic_kind_and_work_type(web, cast, scene):
    client = web(cast.stakeholder)

    def cards(query: str = "") -> list[str]:
        html = client.get(f"/p/AUTH/board/?sprint={scene.active.pk}{query}").content.decode()
        return re.findall(r'data-testid="card-(AUTH-\d+)"', html)

    assert cards() == ["AUTH-1", "AUTH-2"]
    assert cards(f"&assignee={cast.engineer.username}") == ["AUTH-1"]
    assert cards("&assignee=none") == ["AUTH-2"]
    assert cards(f"&epic={scene.epic.pk}") == ["AUTH-1", "AUTH-2"]
    assert cards("&epic=none") == []
    assert cards("&kind=question") == ["AUTH-1"]
    assert cards("&work_type=algorithm_development") == ["AUTH-2"]
    html = client.get(f"/p/AUTH/board/?sprint={scene.active.pk}&kind=question").content.decode()
    assert 'data-count-for="todo">1<' in html and 'data-testid="board-filtered"' in html
    # Each card names its epic.
    assert html.count('data-testid="card-epic"') == 1 and "Motion" in html
    # A bad filter is ignored and said so, never a 500.
    html = client.get(f"/p/AUTH/board/?sprint={scene.active.pk}&epic=x").content.decode()
    assert "epic: Pick an epic." in html and cards("&epic=x") == ["AUTH-1", "AUTH-2"]


def test_board_queries_are_pinned(web, cast, scene, make_ticket):
    client = web(cast.lead)
    _grow(cast, scene, make_ticket, 30)
    # session, user, membership with project, the sprint, its tickets, epics and members for the
    # filters, the sprint menu; the memberships fill the switcher too.
    assert _queries(client, "/p/AUTH/board/") == 8
    assert _queries(client, f"/p/AUTH/board/?sprint={scene.active.pk}&kind=code&assignee=none") == 8


@pytest.mark.parametrize("url", ["/p/AUTH/sprints/", "/p/AUTH/epics/"])
def test_sprint_and_epic_lists_are_paged_at_a_constant_cost(web, cast, url):
    from tickets.planning_views import LIST_PAGE_SIZE

    start = datetime.date(2026, 1, 5)
    for i in range(LIST_PAGE_SIZE + 3):
        services.sprint_create(
            project=cast.project, name=f"S{i}", start_date=start, end_date=start + datetime.timedelta(days=3)
        )
        EpicFactory(project=cast.project, title=f"Epic {i}")
    client = web(cast.stakeholder)
    first = client.get(url).content.decode()
    assert 'data-testid="pager"' in first and "Page 1 of 2" in first and f"{LIST_PAGE_SIZE + 3} in all" in first
    second = client.get(url + "?page=2").content.decode()
    assert "Page 2 of 2" in second and 'rel="prev"' in second
    assert _queries(client, url) == _queries(client, url + "?page=2")
    assert client.get(url + "?page=zzz").status_code == 200  # a bad page number shows the first page
