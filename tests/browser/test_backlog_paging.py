"""Paged lists in a real browser: a backlog longer than a page loads more on demand, and a drag
across the boundary between the first page and the rows loaded later ranks the ticket where the
user dropped it (the neighbours' keys go to the API, not a page-local index); board columns load
more per column and their counters keep showing totals through drags."""

import re

import pytest

from tests.browser.conftest import login
from tests.browser.test_planning import drag, plan  # noqa: F401  (fixture)
from tests.tickets.conftest import order_of
from tests.tickets.test_pages_paging import bulk_tickets
from tickets.models import Ticket, TicketStatus
from tickets.selectors import PLAN_PAGE_SIZE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = "#backlog-list .ticket-row"


def shown(page) -> list[str]:
    return page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.key)")


def drag_to(page, source, x: float, y: float) -> None:
    """Press on ``source``, glide to the point (x, y) in small steps and release."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(x, y, steps=20)
    page.mouse.move(x, y + 1, steps=2)
    page.mouse.up()


def load_all(page, total: int) -> None:
    page.locator("[data-testid=load-more-backlog-list]").click()
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === {total}")
    assert page.locator("[data-testid=load-more-backlog-list]").count() == 0


def test_a_ticket_dragged_from_the_second_page_onto_the_first_stays_where_it_was_dropped(page, cast, plan):  # noqa: F811
    bulk_tickets(cast.project, PLAN_PAGE_SIZE + 8)  # AUTH-5 … after AUTH-3 and AUTH-4
    total = PLAN_PAGE_SIZE + 10
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    assert len(shown(page)) == PLAN_PAGE_SIZE
    assert page.locator('[data-count-for="backlog-list"]').inner_text() == str(total)
    load_all(page, total)
    before = shown(page)
    assert before == order_of(cast.project)
    moving, target = before[PLAN_PAGE_SIZE + 1], before[PLAN_PAGE_SIZE - 2]
    with page.expect_response(re.compile(r"/tickets/move/$")) as saved:
        drag(
            page,
            page.locator(f'#backlog-list [data-key="{moving}"] .drag-handle'),
            page.locator(f'#backlog-list [data-key="{target}"]'),
        )
    assert saved.value.status == 200
    # The neighbour's key went to the API, not a position on the page.
    sent = saved.value.request.post_data_json
    assert sent.get("after") == before[PLAN_PAGE_SIZE - 3] or sent.get("before") == target, sent
    page.wait_for_function("() => !document.querySelector('.ticket-row.is-saving')")
    seen = shown(page)
    expected = before[: PLAN_PAGE_SIZE - 2] + [moving] + [k for k in before[PLAN_PAGE_SIZE - 2 :] if k != moving]
    assert seen == expected
    assert page.locator('[data-count-for="backlog-list"]').inner_text() == str(total)
    page.reload()
    load_all(page, total)
    assert shown(page) == seen == order_of(cast.project)


def test_a_ticket_dropped_at_the_bottom_of_the_first_page_stays_above_the_rows_not_loaded(page, cast, plan):  # noqa: F811
    bulk_tickets(cast.project, PLAN_PAGE_SIZE + 3)
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    first = shown(page)
    moving, last = first[-2], first[-1]
    with page.expect_response(re.compile(r"/tickets/move/$")) as saved:
        # Down onto the lower edge of the page's last row: the bottom of what is loaded.
        page.locator(f'[data-key="{last}"]').scroll_into_view_if_needed()
        box = page.locator(f'[data-key="{last}"]').bounding_box()
        drag_to(
            page,
            page.locator(f'#backlog-list [data-key="{moving}"] .drag-handle'),
            box["x"] + box["width"] / 2,
            box["y"] + box["height"] - 3,
        )
    assert saved.value.status == 200
    page.wait_for_function("() => !document.querySelector('.ticket-row.is-saving')")
    assert shown(page)[-2:] == [last, moving]
    # Loading more continues after the row now last on the page: nothing skipped or repeated.
    load_all(page, PLAN_PAGE_SIZE + 5)
    assert shown(page) == order_of(cast.project)
    assert order_of(cast.project)[PLAN_PAGE_SIZE - 2 : PLAN_PAGE_SIZE] == [last, moving]


def test_a_stakeholder_loads_more_but_cannot_reorder(page, cast, plan):  # noqa: F811
    bulk_tickets(cast.project, PLAN_PAGE_SIZE + 1)
    login(page, "stakeholder")
    page.goto("/p/AUTH/backlog/")
    load_all(page, PLAN_PAGE_SIZE + 3)
    assert page.locator(".drag-handle, [data-select], #plan[data-can-plan]").count() == 0


def test_a_ticket_added_inline_waits_at_the_bottom_until_the_list_is_loaded_to_it(page, cast, plan):  # noqa: F811
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 1)
    new = f"AUTH-{len(made) + 5}"
    login(page, "engineer")
    page.goto("/p/AUTH/backlog/")
    form = page.locator("[data-testid=quick-create]")
    form.locator("[name=title]").fill("Do left-handed owners need their own model?")
    form.locator("button[type=submit]").click()
    page.get_by_text(f"{new} added at the bottom of the backlog").wait_for()
    # Not shown after the first page's last row (rows not loaded yet rank above it), but counted.
    assert new not in shown(page) and len(shown(page)) == PLAN_PAGE_SIZE
    assert page.locator('[data-count-for="backlog-list"]').inner_text() == str(PLAN_PAGE_SIZE + 4)
    load_all(page, PLAN_PAGE_SIZE + 4)
    assert shown(page) == order_of(cast.project) and shown(page)[-1] == new


def test_a_refused_load_more_says_why(page, cast, plan):  # noqa: F811
    bulk_tickets(cast.project, PLAN_PAGE_SIZE + 1)
    login(page, "lead")
    page.goto("/p/AUTH/backlog/")
    last = shown(page)[-1]
    Ticket.objects.filter(project=cast.project, number=int(last.split("-")[1])).delete()  # by someone else, meanwhile
    page.locator("[data-testid=load-more-backlog-list]").click()
    error = page.locator("[data-testid=backlog-panel] [data-testid=drop-error]")
    error.wait_for()
    assert f"after: There is no ticket {last} in AUTH; reload the page." in error.inner_text()
    assert len(shown(page)) == PLAN_PAGE_SIZE


def counts(page) -> dict[str, str]:
    return page.locator("[data-count-for]").evaluate_all(
        "badges => Object.fromEntries(badges.map(b => [b.dataset.countFor, b.textContent.trim()]))"
    )


def drag_sideways(page, source, column) -> None:
    """Drag ``source`` straight across into ``column`` at the same height (a long column's cards
    sit far below the top of the page)."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    box = column.bounding_box()
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, y, steps=20)
    page.mouse.move(box["x"] + box["width"] / 2, y + 2, steps=2)
    page.mouse.up()


def test_a_board_column_loads_more_and_its_counter_shows_the_total_through_drags(page, cast, plan):  # noqa: F811
    made = bulk_tickets(cast.project, PLAN_PAGE_SIZE + 2, sprint=plan["active"], status=TicketStatus.IN_PROGRESS)
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    column = "[data-testid=column-in_progress] .board-card"
    assert page.locator(column).count() == PLAN_PAGE_SIZE
    assert counts(page)["in_progress"] == str(PLAN_PAGE_SIZE + 4)
    page.locator("[data-testid=load-more-in_progress]").click()
    page.wait_for_function(f"() => document.querySelectorAll('{column}').length === {PLAN_PAGE_SIZE + 4}")
    assert page.locator("[data-testid=load-more-in_progress]").count() == 0
    assert counts(page)["in_progress"] == str(PLAN_PAGE_SIZE + 4)
    with page.expect_response(re.compile(rf"/api/v1/tickets/{made[-1]}/$")) as saved:
        drag_sideways(
            page,
            page.locator(f"[data-testid=card-{made[-1]}]"),
            page.locator("[data-testid=column-review] .board-cards"),
        )
    assert saved.value.status == 200
    page.wait_for_function("() => !document.querySelector('.board-card.is-saving')")
    assert counts(page)["in_progress"] == str(PLAN_PAGE_SIZE + 3) and counts(page)["review"] == "1"
    page.reload()
    assert counts(page)["in_progress"] == str(PLAN_PAGE_SIZE + 3) and counts(page)["review"] == "1"
    assert page.locator(f"[data-testid=column-review] [data-testid=card-{made[-1]}]").count() == 1
