"""Pages that cannot run injected script, in a real browser under the Content-Security-Policy.

Every title-like field holds text that would run script if a template put it into code or markup
unescaped; every confirm-style button is clicked. Only the app's own confirmations may open, with
the text shown literally, and the flag the payloads would set stays unset. The vendored Swagger UI
and plotly charts must work with no policy violation.
"""

from __future__ import annotations

import datetime

import pytest

from accounts.services import api_token_create
from experiments.models import Benchmark, Run
from tests.browser.conftest import login
from tests.experiments.dashboard_story import add_results, build_story
from tickets import services
from tickets.models import Project, WorkType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The two payloads of the report, and variants that set a flag instead of opening a dialog.
QUOTE = "x');alert(1);('"
TAG = "<img src=x onerror=alert(1)>"
QUOTE_FLAG = "x');window.__xss=1;('"
TAG_FLAG = "<img src=x onerror=window.__xss=1>"
PAYLOAD = f"{QUOTE} {TAG} {QUOTE_FLAG} {TAG_FLAG}"

WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


class Watch:
    """Dialogs opened and policy violations reported on a page."""

    def __init__(self, page) -> None:
        self.page = page
        self.dialogs: list[tuple[str, str]] = []
        self.console: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda msg: self.console.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.add_init_script(WATCH_POLICY)
        self.accept = False

    def _dialog(self, dialog) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        if self.accept and dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.page.evaluate("window.__xss") is None, f"injected script ran on {self.page.url}"
        assert self.page.evaluate("window.__violations") == [], self.page.url
        assert not self.console, self.console
        assert all(kind == "confirm" for kind, _ in self.dialogs), self.dialogs


@pytest.fixture
def hostile(cast):
    """The demo story, with every title-like field holding the payloads."""
    story = build_story(cast)
    add_results(story)
    Project.objects.filter(pk=cast.project.pk).update(name=PAYLOAD)
    epic = services.epic_create(project=cast.project, title=PAYLOAD, goal=PAYLOAD)  # empty: it can be deleted
    worked = services.epic_create(project=cast.project, title=PAYLOAD[::-1], goal=PAYLOAD)
    today = datetime.date.today()
    sprint = services.sprint_create(
        project=cast.project, name=PAYLOAD[:120], goal=PAYLOAD, start_date=today, end_date=today + datetime.timedelta(7)
    )
    ticket = services.ticket_create(
        project=cast.project,
        actor=cast.lead,
        title=PAYLOAD,
        description=PAYLOAD,
        work_type=WorkType.DATA_EXPLORATION,
        epic=worked,
        sprint=sprint,
    )
    services.comment_create(ticket=ticket, author=cast.lead, body=PAYLOAD)
    Benchmark.objects.update(name=TAG_FLAG, description=PAYLOAD)
    Run.objects.update(name=PAYLOAD[:100])
    api_token_create(user=cast.lead, name=PAYLOAD[:100])
    return {"story": story, "epic": epic, "worked": worked, "sprint": sprint, "ticket": ticket}


CONFIRM_BUTTONS = "form[data-confirm] button[type=submit]:visible, button[data-confirm]:visible"


def click_every_confirm(page, watch) -> int:
    """Click each confirm-style button on the page, dismissing the question: nothing is submitted."""
    url = page.url
    buttons = page.locator(CONFIRM_BUTTONS)
    count = buttons.count()
    for i in range(count):
        before = len(watch.dialogs)
        buttons.nth(i).click()
        assert len(watch.dialogs) == before + 1, "a confirm-style button asked nothing"
        assert page.url == url  # dismissed: the form was not sent
    return count


def test_no_title_runs_script_and_every_confirmation_shows_text(page, hostile):
    watch = Watch(page)
    login(page, "lead")
    epic, sprint, ticket = hostile["epic"], hostile["sprint"], hostile["ticket"]
    benchmark = Benchmark.objects.get()
    s1 = hostile["story"].s1
    pages = {
        "/projects/": 0,
        "/p/AUTH/": 0,
        "/p/AUTH/backlog/": 0,
        "/p/AUTH/board/": 0,
        "/p/AUTH/epics/": 0,
        f"/p/AUTH/epics/{epic.pk}/": 1,  # delete the epic
        f"/p/AUTH/epics/{hostile['worked'].pk}/": 0,
        "/p/AUTH/sprints/": 0,
        f"/p/AUTH/sprints/{sprint.pk}/": 1,  # delete the planned sprint (another one is active)
        f"/t/{ticket.key}/": 2,  # delete the ticket and its comment
        f"/t/{ticket.key}/edit/": 0,
        "/t/AUTH-7/reassess/": 1,  # record a reassessment
        "/p/AUTH/members/": 2,  # remove the engineer or the stakeholder
        "/p/AUTH/benchmarks/": 0,
        f"/p/AUTH/benchmarks/{benchmark.pk}/": 0,
        "/p/AUTH/runs/": 0,
        "/p/AUTH/dashboard/": 0,
        f"/p/AUTH/dashboard/sprints/{s1.pk}/": 0,
        "/p/AUTH/demo/": 0,
        "/p/AUTH/share-links/": 0,
        "/account/tokens/": 1,  # revoke the token
    }
    for url, expected in pages.items():
        response = page.goto(url)
        assert response.status == 200, url
        assert click_every_confirm(page, watch) >= expected, url
        watch.assert_clean()
    assert any(kind == "alert" for kind, _ in watch.dialogs) is False
    # The confirmations say the title as text.
    messages = [message for _, message in watch.dialogs]
    assert f"Delete the epic “{PAYLOAD}”?" in messages
    assert f"Delete {PAYLOAD[:120]}? Its tickets go back to the backlog." in messages
    # And a confirmed form is still sent.
    watch.accept = True
    page.goto(f"/p/AUTH/epics/{epic.pk}/")
    page.locator(f"form[action$='/epics/{epic.pk}/delete/'] button[type=submit]").click()
    page.wait_for_url("**/p/AUTH/epics/")
    assert f"Epic “{PAYLOAD}” deleted." in page.locator(".alert-success").inner_text()
    assert page.locator(f"a[href$='/epics/{epic.pk}/']").count() == 0
    watch.assert_clean()


def test_swagger_ui_works_under_the_policy(page, cast):
    watch = Watch(page)
    page.goto("/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() > 20
    watch.assert_clean()


def test_plotly_charts_work_under_the_policy(page, cast):
    story = build_story(cast)
    add_results(story)
    watch = Watch(page)
    login(page, "stakeholder")
    for url in ("/p/AUTH/dashboard/", f"/p/AUTH/dashboard/sprints/{story.s1.pk}/"):
        page.goto(url)
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        page.locator(".js-plotly-plot").first.hover()
        watch.assert_clean()
