"""The ticket page shows the runs attached to it and their evaluations, loaded after the page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login
from tests.experiments.benchmark_helpers import crown, make_benchmark, make_run, submit, write_binary_case
from tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ticket_page_lists_its_runs_and_their_verdicts(page, cast, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    ticket = TicketFactory(project=cast.project, title="Try gradient boosting on typing features")
    other = TicketFactory(project=cast.project, title="Something else")
    case = write_binary_case(tmp_path / "case")
    benchmark = make_benchmark(cast.project, cast.lead, case)
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "dwell-rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    submit(
        make_run(cast.project, cast.engineer, "gbm-typing", ticket_key=ticket.key),
        dataset,
        cast.engineer,
        case.challenger,
    )
    make_run(cast.project, cast.engineer, "unrelated", ticket_key=other.key)

    login(page, "stakeholder")
    page.goto(f"/t/{ticket.key}/")
    runs = page.locator("[data-testid=ticket-runs-panel]")
    runs.get_by_text("gbm-typing").first.wait_for()
    assert "unrelated" not in runs.inner_text()
    evaluations = page.locator("[data-testid=ticket-evaluations-panel]")
    evaluations.get_by_text("gbm-typing").first.wait_for()
    assert "better" in evaluations.inner_text().lower()
    # Stakeholders read only: no attach or detach controls in the loaded panels.
    assert runs.locator("form").count() == 0
