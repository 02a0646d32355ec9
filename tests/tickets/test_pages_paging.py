"""The backlog's lists and the board's columns show a page at a time: the first page on the page,
the next ones through "load more" (keyset-paged after a ticket), each list's counter its total,
filters applied to every page, and query counts that do not grow with the project."""

import re

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.factories import EpicFactory
from tickets.models import Project, Ticket, TicketKind, TicketStatus, WorkType
from tickets.selectors import PLAN_PAGE_SIZE, SPRINT_PANEL_PAGE_SIZE
from tickets.services.ranking import GAP

pytestmark = pytest.mark.django_db

PAGE = [(None, 302), ("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)]


def bulk_tickets(project, n: int, *, sprint=None, status=TicketStatus.TODO, **fields) -> list[str]:
    """``n`` tickets at the bottom of ``sprint``'s list (None: the backlog), made in one insert; their keys."""
    project.refresh_from_db()
    first = project.ticket_counter + 1
    top = Ticket.objects.filter(project=project).order_by("-rank").values_list("rank", flat=True).first() or 0
    fields.setdefault("work_type", WorkType.ALGORITHM_DEVELOPMENT)
    Ticket.objects.bulk_create(
        Ticket(
            project=project,
            number=first + i,
            title=f"Bulk ticket {first + i}",
            sprint=sprint,
            status=status,
            rank=top + GAP * (i + 1),
            **fields,
        )
        for i in range(n)
    )
    # A bulk insert saves no ticket: bump the content version as bulk-writing services do.
    Project.objects.filter(pk=project.pk).update(
        ticket_counter=F("ticket_counter") + n, content_version=F("content_version") + 1
    )
    return [f"{project.key}-{first + i}" for i in range(n)]


def keys(html: str) -> list[str]:
    return re.findall(r'<li class="ticket-row[^"]*" data-key="(AUTH-\d+)"', html)


def list_keys(html: str, list_id: str = "backlog-list") -> list[str]:
    """The keys in one list of the backlog page, in page order."""
    return keys(html.split(f'<ul id="{list_id}"')[1].split("</ul>")[0])


def cards(html: str) -> list[str]:
    return re.findall(r'data-testid="card-(AUTH-\d+)"', html)


def count_badge(html: str, name: str) -> str:
    return re.search(rf'data-count-for="{name}">(\d+)<', html).group(1)


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- The backlog ------------------------------------------------------------------------
def test_the_backlog_shows_a_first_page_and_its_total(web, cast, scene):
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 7)
    html = web(cast.lead).get("/p/AUTH/backlog/").content.decode()
    assert list_keys(html) == ["AUTH-3", "AUTH-4", *made[: PLAN_PAGE_SIZE - 2]]
    assert count_badge(html, "backlog-list") == str(PLAN_PAGE_SIZE + 9)
    assert 'data-testid="load-more-backlog-list"' in html
    # The sprints' lists are short: no "load more" under them.
    assert f'data-testid="load-more-sprint-list-{scene.active.pk}"' not in html


def test_load_more_continues_after_the_ticket_named_and_then_stops(web, cast, scene):
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 7)
    client = web(cast.lead)
    last_shown = made[PLAN_PAGE_SIZE - 3]
    html = client.get("/p/AUTH/backlog/rows/", {"after": last_shown}).content.decode()
    assert keys(html) == made[PLAN_PAGE_SIZE - 2 :]
    # The list is loaded to its end: the button is replaced by nothing.
    assert 'id="more-backlog-list" hx-swap-oob="true"' in html and "load-more-backlog-list" not in html
    # Without ``after``: from the top. A short page keeps its button, which continues after its last row.
    html = client.get("/p/AUTH/backlog/rows/").content.decode()
    assert keys(html)[:3] == ["AUTH-3", "AUTH-4", made[0]] and len(keys(html)) == PLAN_PAGE_SIZE
    assert 'data-more-for="backlog-list"' in html and 'hx-get="/p/AUTH/backlog/rows/"' in html


def test_load_more_follows_the_rank_so_moves_neither_skip_nor_repeat_rows(web, cast, scene, api):
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 4)
    # The lead drags the last ticket above AUTH-3 (the top), then loads more after the page's last row.
    api(cast.lead).post(
        "/api/v1/projects/AUTH/tickets/move/",
        {"tickets": [made[-1]], "sprint": None, "before": "AUTH-3"},
        format="json",
    )
    first = list_keys(web(cast.lead).get("/p/AUTH/backlog/").content.decode())
    assert first[:2] == [made[-1], "AUTH-3"] and len(first) == PLAN_PAGE_SIZE
    rest = keys(web(cast.lead).get("/p/AUTH/backlog/rows/", {"after": first[-1]}).content.decode())
    assert first + rest == [made[-1], "AUTH-3", "AUTH-4", *made[:-1]]


def test_a_sprints_list_loads_more_on_its_own_url(web, cast, scene):
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 2, sprint=scene.planned)
    client = web(cast.stakeholder)
    html = client.get("/p/AUTH/backlog/").content.decode()
    assert count_badge(html, f"sprint-list-{scene.planned.pk}") == str(PLAN_PAGE_SIZE + 3)
    url = f"/p/AUTH/backlog/sprints/{scene.planned.pk}/rows/"
    assert f'hx-get="{url}"' in html
    rows = keys(client.get(url, {"after": made[PLAN_PAGE_SIZE - 2]}).content.decode())
    assert rows == made[PLAN_PAGE_SIZE - 1 :]


def test_load_more_applies_the_filters(web, cast, scene):
    bulk_tickets(cast.project, PLAN_PAGE_SIZE + 5, kind=TicketKind.CODE)
    questions = bulk_tickets(cast.project, 3, kind=TicketKind.QUESTION, question="Q?")
    html = web(cast.lead).get("/p/AUTH/backlog/", {"kind": "code"}).content.decode()
    assert 'hx-get="/p/AUTH/backlog/rows/?kind=code"' in html
    rows = keys(web(cast.lead).get("/p/AUTH/backlog/rows/", {"kind": "question"}).content.decode())
    assert rows == questions


def test_planners_get_drag_handles_on_loaded_rows_and_stakeholders_do_not(web, cast, scene):
    bulk_tickets(cast.project, 3)
    lead = web(cast.lead).get("/p/AUTH/backlog/rows/").content.decode()
    assert lead.count("drag-handle") == 5
    stakeholder = web(cast.stakeholder).get("/p/AUTH/backlog/rows/").content.decode()
    assert keys(stakeholder) == keys(lead) and "drag-handle" not in stakeholder and "data-select" not in stakeholder


@pytest.mark.parametrize(("who", "status"), PAGE)
def test_load_more_role_matrix(web, cast, scene, who, status):
    client = web(getattr(cast, who) if who else None)
    for url in (
        "/p/AUTH/backlog/rows/",
        f"/p/AUTH/backlog/sprints/{scene.active.pk}/rows/",
        f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo",
    ):
        assert client.get(url).status_code == status, url


def test_outsiders_cannot_tell_a_hidden_sprint_from_a_missing_one(web, cast, scene):
    client = web(cast.outsider)
    for template in ("/p/AUTH/backlog/sprints/{}/rows/", "/p/AUTH/board/{}/cards/?status=todo"):
        hidden = client.get(template.format(scene.active.pk))
        absent = client.get(template.format(999999))
        assert hidden.status_code == absent.status_code == 404
        assert hidden.content == absent.content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"after": "nonsense"}, "after: 'nonsense' is not a ticket key; keys look like AUTH-12."),
        ({"after": "OTHER-1"}, "after: OTHER-1 is not a ticket of AUTH."),
        ({"after": "AUTH-999"}, "after: There is no ticket AUTH-999 in AUTH; reload the page."),
    ],
)
def test_a_bad_cursor_is_refused_with_its_parameter_named(web, cast, scene, query, message):
    response = web(cast.lead).get("/p/AUTH/backlog/rows/", query)
    assert response.status_code == 400 and response.content.decode() == message


def test_a_bad_column_is_refused_with_its_parameter_named(web, cast, scene):
    response = web(cast.lead).get(f"/p/AUTH/board/{scene.active.pk}/cards/", {"status": "doing"})
    assert response.status_code == 400
    assert response.content.decode() == (
        "status: 'doing' is not a board column; choose one of todo, in_progress, review, done, skipped."
    )


def test_a_two_thousand_ticket_backlog_stays_small(web, cast, scene):
    bulk_tickets(cast.project, 1_300)
    bulk_tickets(cast.project, 350, sprint=scene.active)
    bulk_tickets(cast.project, 350, sprint=scene.planned)
    response = web(cast.lead).get("/p/AUTH/backlog/")
    assert response.status_code == 200
    assert len(response.content) < 150_000, len(response.content)
    html = response.content.decode()
    assert count_badge(html, "backlog-list") == "1302"
    assert len(keys(html)) == PLAN_PAGE_SIZE + 2 * SPRINT_PANEL_PAGE_SIZE
    assert len(list_keys(html)) == PLAN_PAGE_SIZE
    board = web(cast.lead).get("/p/AUTH/board/")
    assert len(board.content) < 150_000, len(board.content)
    assert count_badge(board.content.decode(), "todo") == "352"


def test_a_backlog_beside_four_full_sprints_stays_small(web, cast, scene, make_sprint):
    # 1,300 backlog tickets and four open sprints of 350 each: the page grows by a short panel
    # per sprint, not by a sprint's tickets.
    sprints = [scene.active, scene.planned, make_sprint(), make_sprint()]
    bulk_tickets(cast.project, 1_300, assignee=cast.engineer, epic=scene.epic)
    for sprint in sprints:
        bulk_tickets(cast.project, 350 - Ticket.objects.filter(sprint=sprint).count(), sprint=sprint, epic=scene.epic)
    for who in (cast.lead, cast.stakeholder):
        response = web(who).get("/p/AUTH/backlog/")
        assert response.status_code == 200
        assert len(response.content) <= 150_000, (who.username, len(response.content))
        html = response.content.decode()
        assert len(list_keys(html)) == PLAN_PAGE_SIZE and count_badge(html, "backlog-list") == "1302"
        for sprint in sprints:
            assert len(list_keys(html, f"sprint-list-{sprint.pk}")) == SPRINT_PANEL_PAGE_SIZE
            assert count_badge(html, f"sprint-list-{sprint.pk}") == "350"


def test_a_sprint_panel_shows_a_short_first_page_and_loads_the_rest(web, cast, scene):
    made = bulk_tickets(cast.project, SPRINT_PANEL_PAGE_SIZE + PLAN_PAGE_SIZE + 3, sprint=scene.planned)
    client = web(cast.lead)
    html = client.get("/p/AUTH/backlog/").content.decode()
    list_id = f"sprint-list-{scene.planned.pk}"
    shown = list_keys(html, list_id)
    # AUTH-5 is the planned sprint's first ticket (the scene's).
    assert shown == ["AUTH-5", *made[: SPRINT_PANEL_PAGE_SIZE - 1]]
    assert f'data-testid="load-more-{list_id}"' in html
    url = f"/p/AUTH/backlog/sprints/{scene.planned.pk}/rows/"
    page = client.get(url, {"after": shown[-1]}).content.decode()
    assert keys(page) == made[SPRINT_PANEL_PAGE_SIZE - 1 : SPRINT_PANEL_PAGE_SIZE - 1 + PLAN_PAGE_SIZE]
    assert f"load-more-{list_id}" in page
    last = client.get(url, {"after": keys(page)[-1]}).content.decode()
    assert keys(last) == made[SPRINT_PANEL_PAGE_SIZE - 1 + PLAN_PAGE_SIZE :] and f"load-more-{list_id}" not in last


# --- The board --------------------------------------------------------------------------
def test_board_columns_show_a_first_page_their_totals_and_load_more(web, cast, scene):
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 3, sprint=scene.active)
    done = bulk_tickets(cast.project, 2, sprint=scene.active, status=TicketStatus.DONE)
    client = web(cast.engineer)
    html = client.get("/p/AUTH/board/").content.decode()
    todo = html.split('<ul class="board-cards" id="cards-todo"')[1].split("</ul>")[0]
    # AUTH-1 and AUTH-2 are to do too (the scene's active sprint), ranked first.
    assert cards(todo) == ["AUTH-1", "AUTH-2", *made[: PLAN_PAGE_SIZE - 2]]
    assert count_badge(html, "todo") == str(PLAN_PAGE_SIZE + 5)
    assert count_badge(html, "done") == "2"
    assert f"{2} of {PLAN_PAGE_SIZE + 7} done" in html
    more = f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo&amp;after={made[PLAN_PAGE_SIZE - 3]}"
    assert f'hx-get="{more}"' in html and "load-more-done" not in html
    page = client.get(more.replace("&amp;", "&")).content.decode()
    assert cards(page) == made[PLAN_PAGE_SIZE - 2 :]
    assert "load-more-todo" not in page and 'id="more-todo" hx-swap-oob="true"' in page
    assert cards(client.get(f"/p/AUTH/board/{scene.active.pk}/cards/?status=done").content.decode()) == done


def test_board_load_more_applies_the_filters(web, cast, scene):
    epic = EpicFactory(project=cast.project, title="Paged")
    bulk_tickets(cast.project, PLAN_PAGE_SIZE + 1, sprint=scene.active)
    mine = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 2, sprint=scene.active, assignee=cast.engineer, epic=epic)
    client = web(cast.stakeholder)
    query = f"assignee=engineer&epic={epic.pk}&kind=code&work_type=algorithm_development"
    html = client.get(f"/p/AUTH/board/?sprint={scene.active.pk}&{query}").content.decode()
    assert count_badge(html, "todo") == str(PLAN_PAGE_SIZE + 2)
    assert cards(html) == mine[:PLAN_PAGE_SIZE]
    url = f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo&amp;after={mine[PLAN_PAGE_SIZE - 1]}&amp;"
    assert url in html
    page = client.get(f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo&after={mine[PLAN_PAGE_SIZE - 1]}&{query}")
    assert cards(page.content.decode()) == mine[PLAN_PAGE_SIZE:]
    page = client.get(f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo&kind=question")
    assert cards(page.content.decode()) == ["AUTH-1"]


def test_loaded_cards_are_draggable_only_on_the_active_sprint_for_engineers(web, cast, scene):
    bulk_tickets(cast.project, 2, sprint=scene.active)
    bulk_tickets(cast.project, 2, sprint=scene.planned)
    active = f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo"
    assert web(cast.engineer).get(active).content.decode().count("board-card draggable") == 4
    assert "draggable" not in web(cast.stakeholder).get(active).content.decode()
    planned = f"/p/AUTH/board/{scene.planned.pk}/cards/?status=todo"
    assert "draggable" not in web(cast.lead).get(planned).content.decode()


# --- Constant query counts ------------------------------------------------------------
@pytest.mark.parametrize("few", [5])
def test_query_counts_do_not_grow_with_the_number_of_tickets(web, cast, scene, few):
    client = web(cast.lead)

    def urls() -> list[str]:
        first = Ticket.objects.filter(project=cast.project, sprint=None).order_by("rank", "id").first()
        return [
            "/p/AUTH/backlog/",
            "/p/AUTH/backlog/?kind=code&assignee=none",
            "/p/AUTH/backlog/rows/",
            f"/p/AUTH/backlog/rows/?after={first.key}&kind=code",
            f"/p/AUTH/backlog/sprints/{scene.active.pk}/rows/?after=AUTH-1",
            "/p/AUTH/board/",
            f"/p/AUTH/board/?sprint={scene.active.pk}&kind=code&assignee=none",
            f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo",
            f"/p/AUTH/board/{scene.active.pk}/cards/?status=todo&after=AUTH-1&epic=none",
        ]

    epic = EpicFactory(project=cast.project)
    for sprint in (None, scene.active, scene.planned):
        bulk_tickets(cast.project, few, sprint=sprint, assignee=cast.engineer, epic=epic)
    small = [queries(client, url) for url in urls()]
    for sprint in (None, scene.active, scene.planned):
        bulk_tickets(cast.project, 60 - few, sprint=sprint, assignee=cast.engineer, epic=epic)
        bulk_tickets(cast.project, 60, sprint=sprint, assignee=cast.lead, status=TicketStatus.REVIEW)
    assert [queries(client, url) for url in urls()] == small
    # session, user, memberships with projects (access and switcher), open sprints, epics, members
    # with users, the first page of each list with its totals, last sprint's end (new-sprint form).
    assert small[0] == 8
    # "Load more": session, user, membership with project, the rows (one more than a page).
    assert small[2] == 4
    # ... and the ticket it continues after.
    assert small[3] == 5
    # The sprint's list: session, user, membership with project, the sprint, the cursor, the rows.
    assert small[4] == 6
    # The board: session, user, membership with project, the sprint, the first page of each column
    # with its totals, epics and members for the filters, the sprint menu.
    assert small[5] == 8
    # A column's next page: session, user, membership with project, the sprint, (the cursor,) the cards.
    assert small[7:] == [5, 6]


# --- The sprint's and the epic's pages ------------------------------------------------
def table_keys(html: str) -> list[str]:
    return re.findall(r'<tr data-key="(AUTH-\d+)"', html)


@pytest.mark.parametrize("what", ["sprint", "epic"])
def test_a_sprints_and_an_epics_tickets_are_paged_with_their_totals(web, cast, scene, what):
    from tickets.paging import TICKET_PAGE_SIZE

    fields = {"sprint": scene.active} if what == "sprint" else {"epic": scene.epic}
    made = bulk_tickets(cast.project, TICKET_PAGE_SIZE + 3, **fields)
    bulk_tickets(cast.project, 2, status=TicketStatus.DONE, **fields)
    url = f"/p/AUTH/sprints/{scene.active.pk}/" if what == "sprint" else f"/p/AUTH/epics/{scene.epic.pk}/"
    client = web(cast.stakeholder)
    first = client.get(url).content.decode()
    # AUTH-1 and AUTH-2 are the scene's, in both the active sprint and the epic, ranked first.
    assert table_keys(first) == ["AUTH-1", "AUTH-2", *made[: TICKET_PAGE_SIZE - 2]]
    total = TICKET_PAGE_SIZE + 7
    assert "Page 1 of 2" in first and f"{total} in all" in first
    # The counts are over every ticket, not the page shown.
    if what == "sprint":
        assert f'<div class="stat-label">Tickets</div><div class="stat-value">{total}</div>' in first
        assert '<div class="stat-label">Done</div><div class="stat-value">2</div>' in first
    else:
        assert f'<div class="stat-value">2 / {total}</div>' in first
    second = client.get(url, {"page": 2}).content.decode()
    assert table_keys(second) == made[TICKET_PAGE_SIZE - 2 :] + table_keys(second)[-2:]
    assert len(table_keys(second)) == 7 and 'rel="prev"' in second
    assert client.get(url, {"page": "zzz"}).status_code == 200  # a bad page number shows the first page


def test_closing_a_big_sprint_counts_all_its_unfinished_tickets(web, cast, scene):
    bulk_tickets(cast.project, 70, sprint=scene.active)
    html = web(cast.lead).get(f"/p/AUTH/sprints/{scene.active.pk}/").content.decode()
    assert "<strong>72 unfinished</strong> tickets" in html


@pytest.mark.parametrize(("who", "status"), PAGE)
def test_the_sprints_and_epics_second_pages_role_matrix(web, cast, scene, who, status):
    client = web(getattr(cast, who) if who else None)
    for url in (f"/p/AUTH/sprints/{scene.active.pk}/?page=2", f"/p/AUTH/epics/{scene.epic.pk}/?page=2"):
        assert client.get(url).status_code == status, url


@pytest.mark.parametrize("few", [5])
def test_the_sprint_and_epic_pages_cost_the_same_for_5_and_60_tickets(web, cast, scene, few):
    client = web(cast.lead)
    urls = [
        f"/p/AUTH/sprints/{scene.active.pk}/",
        f"/p/AUTH/sprints/{scene.active.pk}/?page=2",
        f"/p/AUTH/sprints/{scene.planned.pk}/",
        f"/p/AUTH/epics/{scene.epic.pk}/",
        f"/p/AUTH/epics/{scene.epic.pk}/?page=2",
    ]
    other = EpicFactory(project=cast.project)
    for sprint in (scene.active, scene.planned):
        bulk_tickets(cast.project, few, sprint=sprint, assignee=cast.engineer, epic=scene.epic)
    small = [queries(client, url) for url in urls]
    for sprint in (scene.active, scene.planned):
        bulk_tickets(cast.project, 60 - few, sprint=sprint, assignee=cast.lead, epic=scene.epic)
        bulk_tickets(cast.project, 60, sprint=sprint, assignee=cast.engineer, epic=other, status=TicketStatus.DONE)
    assert [queries(client, url) for url in urls] == small
    # The sprint: session, user, membership with project, the sprint, the sprint with its counts,
    # planned sprints, the page of tickets, the active sprint.
    assert small[0] == 8
    # The epic: session, user, membership with project, the epic, the epic with its counts,
    # the page of tickets.
    assert small[3] == 6


def test_a_closed_big_sprints_record_names_some_tickets_and_counts_them_all(web, cast, scene, make_sprint):
    from tickets import services
    from tickets.planning_views import SNAPSHOT_KEYS_SHOWN

    made = bulk_tickets(cast.project, SNAPSHOT_KEYS_SHOWN + 8, sprint=scene.active, status=TicketStatus.DONE)
    services.sprint_close(sprint=scene.active, actor=cast.lead, carry_over_to=None)
    html = web(cast.stakeholder).get(f"/p/AUTH/sprints/{scene.active.pk}/").content.decode()
    record = html.split('data-testid="snapshot"')[1].split('data-testid="ticket-table"')[0]
    # Completed: the bulk tickets; carried over: AUTH-1 and AUTH-2 (to do).
    assert f'<div class="stat-value">{SNAPSHOT_KEYS_SHOWN + 8}</div>' in record
    assert record.count(f'href="/t/{made[0]}/"') == 1 and f'href="/t/{made[-1]}/"' not in record
    assert ">and 8 more<" in record
