"""The board in a real browser: cards land in columns (never inside another card), counters follow
every drop, and only the active sprint's board changes status."""

import re

import pytest

from tests.browser.conftest import login
from tests.browser.test_planning import drag, plan  # noqa: F401  (fixture)
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def counts(page) -> dict[str, str]:
    return page.locator("[data-count-for]").evaluate_all(
        "badges => Object.fromEntries(badges.map(b => [b.dataset.countFor, b.textContent.trim()]))"
    )


def test_a_card_dropped_on_another_card_lands_in_the_column_and_counters_follow(page, cast, plan):  # noqa: F811
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    assert counts(page)["in_progress"] == "2"
    # Drop AUTH-2 right onto AUTH-1's card: both are in progress, so first move AUTH-1 to review.
    with page.expect_response(re.compile(r"/api/v1/tickets/AUTH-1/$")):
        drag(page, page.locator("[data-testid=card-AUTH-1]"), page.locator("[data-testid=column-review] .board-cards"))
    with page.expect_response(re.compile(r"/api/v1/tickets/AUTH-2/$")) as saved:
        drag(
            page,
            page.locator("[data-testid=card-AUTH-2] .ticket-key"),
            page.locator("[data-testid=card-AUTH-1] .card-title-link"),
        )
    assert saved.value.status == 200
    page.wait_for_function("() => !document.querySelector('.board-card.is-saving')")
    assert page.locator(".board-card .board-card").count() == 0
    assert page.locator("[data-testid=column-review] .board-cards > .board-card").count() == 2
    assert counts(page) == {"todo": "0", "in_progress": "0", "review": "2", "done": "0", "skipped": "0"}
    assert Ticket.objects.get(number=2).status == "review"
    page.reload()
    assert counts(page)["review"] == "2"


def test_counters_are_right_after_a_refused_drop(page, cast, plan):  # noqa: F811
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    with page.expect_response(re.compile(r"/api/v1/tickets/AUTH-1/$")) as refused:
        drag(page, page.locator("[data-testid=card-AUTH-1]"), page.locator("[data-testid=column-done] .board-cards"))
    assert refused.value.status == 400
    page.locator("[data-testid=drop-error]").wait_for()
    assert counts(page) == {"todo": "0", "in_progress": "2", "review": "0", "done": "0", "skipped": "0"}


def test_a_planned_sprints_board_is_read_only(page, cast, plan):  # noqa: F811
    services.ticket_update(ticket=Ticket.objects.get(number=3), actor=cast.lead, sprint=plan["planned"])
    login(page, "lead")
    page.goto(f"/p/AUTH/board/?sprint={plan['planned'].pk}")
    assert page.locator("[data-testid=planned-notice]").is_visible()
    assert page.locator("[data-testid=card-AUTH-3]").count() == 1
    assert page.locator(".draggable, .drag-handle, #board[data-can-edit]").count() == 0
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    drag(page, page.locator("[data-testid=card-AUTH-3]"), page.locator("[data-testid=column-review] .board-cards"))
    assert requests == []
    assert page.locator("[data-testid=column-todo] [data-testid=card-AUTH-3]").count() == 1
    assert Ticket.objects.get(number=3).status == "todo"


def test_the_board_filters_and_names_each_cards_epic(page, cast, plan):  # noqa: F811
    from tickets.models import Epic

    Epic.objects.filter(project=cast.project).update(title="x');alert(1);('")
    login(page, "stakeholder")
    page.goto("/p/AUTH/board/")
    assert page.locator("[data-testid=card-AUTH-1] [data-testid=card-epic]").inner_text().strip() == "x');alert(1);('"
    page.select_option("[data-testid=board-filters] select[name=assignee]", "engineer")
    page.wait_for_url("**assignee=engineer**")
    assert page.locator(".board-card").evaluate_all("cards => cards.map(c => c.dataset.key)") == ["AUTH-2"]
    assert counts(page)["in_progress"] == "1"
    page.select_option("[data-testid=board-filters] select[name=kind]", "question")
    page.wait_for_url("**kind=question**")
    assert page.locator(".board-card").count() == 0
