"""Search from the top bar with "/", and an @mention arriving in another member's inbox, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.factories import TicketFactory
from tickets import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HOSTILE = "x');alert(1);('"


@pytest.fixture
def tickets(cast):
    hostile = TicketFactory(project=cast.project, title=f"{HOSTILE} gyroscope <img src=x onerror=alert(3)>")
    plain = TicketFactory(project=cast.project, title="Gyroscope features", description="From the phone.")
    return hostile, plain


def test_slash_focuses_search_and_results_are_marked_text(page, cast, tickets):
    _, plain = tickets
    login(page, "engineer")
    page.goto(f"/t/{plain.key}/")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.type("gyroscope")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/p/AUTH/search/\?q=gyroscope$"))
    hits = page.get_by_test_id("search-hit")
    expect(hits).to_have_count(2)
    expect(page.locator("mark").first).to_have_text(re.compile("gyroscope", re.IGNORECASE))
    # The hostile title is shown as typed, and nothing ran (the page fixture fails on any script error).
    expect(page.get_by_text(f"{HOSTILE} gyroscope <img src=x onerror=alert(3)>", exact=False)).to_be_visible()
    assert page.locator(".search-results img").count() == 0
    # Typing "/" inside the box types it, it does not steal focus again.
    page.locator("#search").fill("")
    page.locator("#search").type("a/b")
    expect(page.locator("#search")).to_have_value("a/b")


def test_the_top_bar_fits_a_phone(page, cast, tickets):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "stakeholder")
    page.goto("/p/AUTH/search/?q=gyroscope")
    for testid in ("topbar-search", "inbox-bell", "account-link"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, testid
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_test_id("search-hit")).to_have_count(2)


def test_a_mention_reaches_the_other_members_inbox(page, browser, live_server, cast, tickets):
    ticket, _ = tickets  # the hostile title: it shows in the notification as text
    login(page, "lead")
    page.goto("/inbox/")
    expect(page.get_by_test_id("inbox-empty")).to_be_visible()
    expect(page.get_by_test_id("inbox-unread")).to_have_count(0)

    other = browser.new_context(base_url=live_server.url)
    try:
        author = other.new_page()
        login(author, "engineer")
        author.goto(f"/t/{ticket.key}/")
        author.fill("#id_body", "@lead can you check the gyroscope numbers?")
        author.get_by_test_id("comment-form").locator("button[type=submit]").click()
        mention = author.locator(".tl-comment a", has_text="@lead")
        expect(mention).to_have_attribute("href", "/p/AUTH/backlog/?assignee=lead")
    finally:
        other.close()

    # The bell polls: the count appears without reloading.
    expect(page.get_by_test_id("inbox-unread")).to_have_text("1", timeout=30_000)
    page.reload()
    note = page.get_by_test_id("notification")
    expect(note).to_contain_text(f"engineer mentioned you in a comment on {ticket.key} “{HOSTILE} gyroscope <img")
    assert page.get_by_test_id("notifications").locator("img").count() == 0
    note.locator("button").click()
    page.wait_for_url(re.compile(rf".*/t/{ticket.key}/$"))
    expect(page.get_by_test_id("inbox-unread")).to_have_count(0)


def test_watch_from_the_ticket_page(page, cast, tickets):
    _, ticket = tickets
    login(page, "stakeholder")
    page.goto(f"/t/{ticket.key}/")
    page.get_by_test_id("watch").click()
    expect(page.get_by_test_id("unwatch")).to_be_visible()
    services.ticket_update(ticket=ticket, actor=cast.engineer, status="in_progress")
    page.goto("/inbox/")
    expect(page.get_by_test_id("notification")).to_contain_text("engineer moved")
