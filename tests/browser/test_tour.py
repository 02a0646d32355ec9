"""Every page of the seeded demo, opened in a real browser by each role: it renders its heading,
draws its charts, raises no JavaScript error and fetches nothing from outside (the ``page``
fixture checks the last two). Stakeholders find no controls that change anything."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from experiments.models import Benchmark, Evaluation, Run
from tests.browser.conftest import login
from tickets.models import Epic, Sprint, SprintState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO())
    closed = Sprint.objects.filter(state=SprintState.CLOSED).order_by("start_date").first()
    runs = list(Run.objects.order_by("id").values_list("pk", flat=True)[:2])
    benchmark = Benchmark.objects.get()
    epic = Epic.objects.order_by("order").first()
    return {
        "/projects/": "Projects",
        "/p/AUTH/": "Continuous authentication",
        "/p/AUTH/backlog/": "Backlog",
        "/p/AUTH/board/": "Sprint 4",
        "/p/AUTH/epics/": "Epics",
        f"/p/AUTH/epics/{epic.pk}/": epic.title,
        "/p/AUTH/sprints/": "Sprints",
        f"/p/AUTH/sprints/{closed.pk}/": closed.name,
        "/t/AUTH-12/": "Does motion data add signal beyond typing?",
        "/p/AUTH/runs/": "Runs",
        f"/p/AUTH/runs/{runs[0]}/": "Params",
        f"/p/AUTH/runs/compare/?runs={runs[0]}&runs={runs[1]}": "Compare",
        "/p/AUTH/benchmarks/": "Benchmarks",
        f"/p/AUTH/benchmarks/{benchmark.pk}/": benchmark.name,
        f"/p/AUTH/benchmarks/{benchmark.pk}/datasets/": "v1",
        f"/p/AUTH/evaluations/{Evaluation.objects.filter(champion_run__isnull=False).first().pk}/": "AUC",
        "/p/AUTH/dashboard/": "Progress",
        f"/p/AUTH/dashboard/sprints/{closed.pk}/": "Burndown",
        "/p/AUTH/demo/": "What we learned",
        f"/p/AUTH/demo/sprints/{closed.pk}/": closed.name,
        "/p/AUTH/members/": "Members",
    }


LEAD_ONLY = {
    "/p/AUTH/share-links/": "Share links",
    "/t/AUTH-12/reassess/": "Reassess",
    "/p/AUTH/benchmarks/new/": "New benchmark",
    "/t/AUTH-3/edit/": "Edit",
}

# Controls that change something; stakeholders must not be offered any of them (Watch on a ticket
# changes only their own inbox).
WRITE_CONTROLS = (
    "form[method=post]:not([data-testid=watch-form]) button[type=submit]:not([form=logout]), "
    "[draggable=true], .drag-handle, "
    "input[type=file], textarea"
)


def _visit(page, path: str, text: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    page.wait_for_load_state("networkidle")
    body = page.locator("main").inner_text()
    assert text in body, f"{path}: {text!r} not on the page"
    for chart in page.locator(".js-plotly-plot").all():
        assert chart.locator(".main-svg").count() >= 1, f"{path}: a chart did not draw"


@pytest.mark.parametrize("who", ["lead", "stakeholder"])
def test_every_page_renders_for_members(page, demo, who):
    login(page, who, password="demo")
    for path, text in demo.items():
        _visit(page, path, text)
        # Anyone may start a project of their own; everything inside AUTH is read-only for them.
        if who == "stakeholder" and path != "/projects/":
            controls = page.locator("main").locator(WRITE_CONTROLS)
            assert controls.count() == 0, f"{path}: stakeholder sees {controls.count()} edit controls"
    if who == "lead":
        for path, text in LEAD_ONLY.items():
            _visit(page, path, text)


def test_api_docs_render_offline(page, demo):
    login(page, "engineer", password="demo")
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "AgileML API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(p.startswith("/api/v1/projects/{key}/tickets/") for p in paths), paths[:10]
