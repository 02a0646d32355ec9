"""Keyboard shortcuts: "?" lists them, "n" and "g …" go where they say, typing in a field is left alone."""

import re

import pytest

from tests.browser.conftest import login
from tests.browser.test_planning import plan  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shown(page) -> None:
    """Bootstrap ignores Escape until the dialog has finished opening (it then holds the focus)."""
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'shortcuts-modal'")


def test_question_mark_lists_the_shortcuts_and_search_only_when_there_is_one(page, cast, plan):  # noqa: F811
    login(page, "engineer")
    # A page outside any project has no search box: the overlay does not offer "/".
    page.goto("/projects/")
    assert page.locator("#search").count() == 0
    page.keyboard.press("?")
    overlay = page.locator("#shortcuts-modal")
    overlay.wait_for(state="visible")
    shown(page)
    assert "Show this list" in overlay.inner_text()
    assert not page.locator("[data-needs='#search']").is_visible()
    page.keyboard.press("Escape")
    overlay.wait_for(state="hidden")
    # A project page has the project's search box in the top bar: "/" is listed and focuses it.
    page.goto("/p/AUTH/board/")
    page.keyboard.press("?")
    overlay.wait_for(state="visible")
    shown(page)
    text = overlay.inner_text()
    for words in ("New ticket", "Go to the backlog", "Go to the board", "Go to runs"):
        assert words in text
    assert page.locator("[data-needs='#search']").is_visible()
    page.keyboard.press("Escape")
    overlay.wait_for(state="hidden")
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "search"


def test_g_then_a_letter_goes_to_that_area_and_n_to_a_new_ticket(page, cast, plan):  # noqa: F811
    login(page, "engineer")
    page.goto("/p/AUTH/board/")
    page.keyboard.press("g")
    page.keyboard.press("r")
    page.wait_for_url(re.compile(r"/p/AUTH/runs/$"))
    page.keyboard.press("g")
    page.keyboard.press("b")
    page.wait_for_url(re.compile(r"/p/AUTH/backlog/$"))
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/p/AUTH/tickets/new/$"))
    # Typing in a field is typing, not a shortcut.
    page.locator("input[name=title]").fill("")
    page.locator("input[name=title]").type("gb n")
    assert page.url.endswith("/p/AUTH/tickets/new/")
    assert page.locator("input[name=title]").input_value() == "gb n"


def test_stakeholders_get_no_new_ticket_shortcut(page, cast, plan):  # noqa: F811
    login(page, "stakeholder")
    page.goto("/p/AUTH/backlog/")
    page.keyboard.press("n")
    page.keyboard.press("?")
    page.locator("#shortcuts-modal").wait_for(state="visible")
    assert "New ticket" not in page.locator("#shortcuts-modal").inner_text()
    assert page.url.endswith("/p/AUTH/backlog/")


def test_the_list_fits_a_phone(browser, live_server, cast, plan):  # noqa: F811
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, "lead")
    page.goto("/p/AUTH/board/")
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-modal .modal-dialog")
    dialog.wait_for(state="visible")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    context.close()
