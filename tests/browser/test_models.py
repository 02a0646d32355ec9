"""The model pages in a real browser: from the benchmark to its registered model, versions with
their run, ticket and evaluation, the load snippet; hostile text shown as text; a 390 px phone."""

from __future__ import annotations

import pytest

from experiments.registry import services
from tests.browser.conftest import login
from tests.browser.test_security import PAYLOAD, QUOTE, Watch
from tests.experiments.benchmark_helpers import make_benchmark
from tests.experiments.registry.factories import model_with_versions
from tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def registered(cast):
    benchmark = make_benchmark(cast.project, cast.lead)
    ticket = TicketFactory(project=cast.project, title="Try a logistic regression")
    model = model_with_versions(cast.project, cast.engineer, benchmark.name, 2, ticket=ticket)
    services.registered_model_update(model=model, description=PAYLOAD)
    services.registered_model_set_tag(model=model, key="owner", value=PAYLOAD)
    versions = list(model.versions.order_by("version"))
    services.model_version_update(version=versions[0], description=PAYLOAD)
    services.champion_alias_move(model=model, version=versions[1], user=cast.lead)
    services.alias_set(model=model, alias="challenger", version=versions[0], user=cast.engineer)
    model_with_versions(cast.project, cast.engineer, QUOTE, 1)
    return benchmark, model, ticket


def test_from_the_benchmark_to_its_model_and_its_versions(page, cast, registered):
    benchmark, _model, ticket = registered
    watch = Watch(page)
    login(page, "stakeholder")
    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    page.get_by_test_id("benchmark-model-link").click()
    page.wait_for_url("**/p/AUTH/models/holdout/")
    assert page.get_by_test_id("model-description").inner_text() == PAYLOAD
    rows = page.locator("[data-testid=version-table] tbody tr")
    assert rows.count() == 2
    newest = page.locator("tr[data-version='2']")
    assert newest.locator("[data-alias=champion]").inner_text() == "@champion"
    assert ticket.key in newest.inner_text()
    assert "holdout-run-1" in newest.inner_text()
    assert page.locator("tr[data-version='1'] [data-alias=challenger]").count() == 1
    assert PAYLOAD in page.locator("tr[data-version='1']").inner_text()
    assert 'mlflow.pyfunc.load_model("models:/holdout@champion")' in page.get_by_test_id("load-snippet").inner_text()
    page.get_by_role("link", name="holdout-run-1").click()
    page.wait_for_url("**/p/AUTH/runs/*/")

    page.goto("/p/AUTH/models/")
    row = page.locator("tr[data-model=holdout]")
    assert "@champion → v2" in row.inner_text() and "@challenger → v1" in row.inner_text()
    page.locator("[data-testid=model-table] a", has_text=QUOTE).click()
    assert page.get_by_test_id("model-name").inner_text().strip() == QUOTE
    assert page.locator("tr[data-version='1']").count() == 1
    page.goto("/p/AUTH/models/")
    row.get_by_role("link", name="holdout").first.click()
    page.wait_for_url("**/p/AUTH/models/holdout/")
    watch.assert_clean()


def test_the_model_pages_fit_a_phone(browser, live_server, cast, registered):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        watch = Watch(page)
        login(page, "engineer")
        for url in ("/p/AUTH/models/", "/p/AUTH/models/holdout/"):
            page.goto(url)
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392 && "
                "!e.closest('.app-subnav, .table-responsive, pre'))"
                ".map(e => e.tagName + '.' + e.className).slice(0, 8)"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (url, wide)
            assert page.get_by_text("holdout").first.is_visible()
        assert page.get_by_test_id("model-description").inner_text() == PAYLOAD
        watch.assert_clean()
    finally:
        context.close()
