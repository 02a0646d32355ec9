"""At 390 px (a phone): the board and benchmark pages do not scroll sideways, and every tab of
the project navigation can be reached."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from tests.browser.conftest import login
from tests.browser.test_planning import plan  # noqa: F401  (fixture)
from tests.experiments.benchmark_helpers import crown, make_benchmark, make_run, submit, write_binary_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
OFFENDERS = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.offsetParent !== null)
  .filter(e => !e.closest('.overflow-auto, .table-responsive, .board, .nav-scroller'))
  .map(e => e.tagName + '.' + e.className).slice(0, 8)"""


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors


@pytest.fixture
def bench(cast, tmp_path):
    case = write_binary_case(tmp_path / "case")
    benchmark = make_benchmark(cast.project, cast.lead, case, description="x');alert(1);('")
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "dwell-rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    yield benchmark
    shutil.rmtree(settings.MEDIA_ROOT / "benchmarks" / str(benchmark.pk), ignore_errors=True)


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (width, page.evaluate(OFFENDERS))


def test_the_board_fits_a_phone(phone, cast, plan):  # noqa: F811
    login(phone, "engineer")
    phone.goto("/p/AUTH/board/")
    no_sideways_scroll(phone)
    # The columns stack: every card can be read without scrolling sideways.
    card = phone.locator("[data-testid=card-AUTH-2]").bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"]


def test_the_benchmark_pages_fit_a_phone(phone, cast, bench):
    login(phone, "lead")
    phone.goto(f"/p/AUTH/benchmarks/{bench.pk}/")
    phone.wait_for_selector("[data-testid=forest-plot] .main-svg")
    no_sideways_scroll(phone)
    for url in ("/p/AUTH/benchmarks/", f"/p/AUTH/benchmarks/{bench.pk}/datasets/"):
        phone.goto(url)
        no_sideways_scroll(phone)


@pytest.mark.parametrize("url", ["/p/AUTH/board/", "/p/AUTH/backlog/"])
def test_every_tab_can_be_reached_on_a_phone(phone, cast, plan, url):  # noqa: F811
    login(phone, "lead")
    phone.goto(url)
    tabs = phone.locator("[data-testid=project-tabs] .nav-link")
    labels = [t.strip() for t in tabs.all_inner_texts()]
    assert {"Runs", "Benchmarks", "Dashboard", "Members"} <= set(labels), labels
    # The tabs wrap: each is in sight as the page opens, nothing to scroll.
    for label in ("Runs", "Benchmarks", "Dashboard", "Members"):
        box = tabs.filter(has_text=label).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], label
    no_sideways_scroll(phone)
    tabs.filter(has_text="Members").click()
    phone.wait_for_url("**/members/")


def test_the_paged_sprint_and_epic_lists_fit_a_phone(phone, cast):
    import datetime

    from tests.factories import EpicFactory
    from tickets import services

    start = datetime.date(2026, 1, 5)
    for i in range(30):
        services.sprint_create(project=cast.project, name=f"x');alert(1);(' {i}", start_date=start, end_date=start)
        EpicFactory(project=cast.project, title=f"x');alert(1);(' {i}")
    login(phone, "stakeholder")
    for url in ("/p/AUTH/sprints/", "/p/AUTH/epics/"):
        phone.goto(url)
        assert phone.locator("[data-testid=pager]").is_visible()
        no_sideways_scroll(phone)
        phone.locator("[data-testid=pager] a[rel=next]").click()
        phone.wait_for_url("**?page=2")
        assert "Page 2 of 2" in phone.locator("[data-testid=pager]").inner_text()


def test_the_paged_members_benchmarks_and_champion_history_fit_a_phone(phone, cast, bench):
    import datetime

    from django.utils import timezone

    from experiments.models import ChampionChange
    from tests.factories import MembershipFactory, UserFactory
    from tickets.models import Role
    from tickets.paging import LIST_PAGE_SIZE

    hostile = "x');alert(1);('"
    for n in range(LIST_PAGE_SIZE):
        user = UserFactory(username=f"m{n:02d}", first_name=hostile, last_name=hostile * 3)
        MembershipFactory(project=cast.project, user=user, role=Role.ENGINEER)
        make_benchmark(cast.project, cast.lead, name=f"more-{n:02d}", description=hostile)
    long_ago = timezone.now() - datetime.timedelta(days=90)
    ChampionChange.objects.bulk_create(
        ChampionChange(
            benchmark=bench,
            run_name=f"old-{n:02d}",
            note=hostile * 4,
            gate_allowed=True,
            primary_metric=bench.primary_metric,
            promoted_at=long_ago + datetime.timedelta(days=n),
        )
        for n in range(LIST_PAGE_SIZE)
    )
    login(phone, "stakeholder")
    for url, pager in (
        ("/p/AUTH/members/", "[data-testid=pager]"),
        ("/p/AUTH/benchmarks/", "[data-testid=pager]"),
        (f"/p/AUTH/benchmarks/{bench.pk}/", "[data-pager=history_page]"),
    ):
        phone.goto(url)
        phone.locator(f"{pager} a[rel=next]").click()
        phone.wait_for_url("**page=2")
        assert "Page 2 of 2" in phone.locator(pager).inner_text()
        assert phone.locator(pager).is_visible()
        no_sideways_scroll(phone)
    # The history's own page parameter: the second page shows the oldest promotions.
    assert phone.locator("[data-testid=champion-history] tr[data-change]").count() == 1
    assert "old-00" in phone.locator("[data-testid=champion-history]").inner_text()
