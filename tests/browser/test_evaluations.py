"""In a real browser: upload predictions, watch the worker's progress bar finish, read the verdict,
promote as a lead, and see the champion change on the benchmark page."""

from __future__ import annotations

import shutil
import time

import pytest
from django.conf import settings
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from experiments.models import Benchmark, ChampionChange
from tests.browser.conftest import login
from tests.experiments.benchmark_helpers import crown, make_benchmark, make_run, submit, write_large_binary_case

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bench(cast, tmp_path):
    # Big enough that the evaluation takes a moment, so there is progress to watch.
    case = write_large_binary_case(tmp_path / "case", n_rows=300_000, n_groups=300)
    benchmark = make_benchmark(cast.project, cast.lead, case, description="Fewer owners locked out.")
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "dwell-rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    yield benchmark, case
    # The worker reads the default test MEDIA_ROOT, so the files live there; remove them.
    shutil.rmtree(settings.MEDIA_ROOT / "benchmarks" / str(benchmark.pk), ignore_errors=True)


def _progress_until_verdict(page, timeout: float = 120) -> list[int]:
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator("[data-testid=verdict-card]").count():
            return seen
        bar = page.locator("[data-testid=evaluation-progress] .progress")
        if bar.count():
            try:
                value = bar.get_attribute("aria-valuenow", timeout=1000)
            except PlaywrightTimeoutError:
                continue  # the verdict replaced the bar between the two reads; look again
            if value is not None and (not seen or int(value) != seen[-1]):
                seen.append(int(value))
        page.wait_for_timeout(50)
    raise AssertionError(f"no verdict after {timeout}s; progress seen: {seen}")


def test_upload_watch_progress_see_verdict_promote_and_see_the_new_champion(page, cast, bench, celery_worker):
    benchmark, case = bench
    login(page, "engineer")
    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    assert page.locator("[data-testid=champion-run]").inner_text().startswith("dwell-rule")
    form = page.locator("[data-testid=submit-card] [data-testid=submit-form]")
    form.locator("input[type=file]").set_input_files(str(case.challenger))
    form.locator("input[name=run_name]").fill("gbm-typing")
    form.get_by_role("button", name="Upload and evaluate").click()
    page.wait_for_url("**/p/AUTH/evaluations/*/")

    seen = _progress_until_verdict(page)
    assert seen, "the progress bar was never shown"
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    sentence = page.locator("[data-testid=comparison-sentence]").inner_text()
    assert sentence.startswith("AUC +") and ", better, p" in sentence
    assert page.locator("[data-testid=verdict-card] [data-verdict=better]").count() == 1
    page.wait_for_selector("[data-testid=roc-chart] .main-svg")
    page.wait_for_selector("[data-testid=det-chart] .main-svg")
    assert "Only leads of AUTH promote champions." in page.locator("[data-testid=promote-card]").inner_text()
    evaluation_url = page.url

    page.context.clear_cookies()
    login(page, "lead")
    page.goto(evaluation_url)
    page.locator("[data-testid=promote-form] textarea[name=note]").fill("Beats the rule on held-out subjects.")
    page.get_by_role("button", name="Promote to champion").click()
    page.wait_for_url(f"**/p/AUTH/benchmarks/{benchmark.pk}/")
    assert "gbm-typing is now the champion of holdout." in page.locator(".alert-success").inner_text()
    assert page.locator("[data-testid=champion-run]").inner_text().startswith("gbm-typing")
    history = page.locator("[data-testid=champion-history] tbody tr")
    assert history.count() == 2
    assert "dwell-rule" in history.first.inner_text() and "gbm-typing" in history.first.inner_text()
    assert "Beats the rule on held-out subjects." in history.first.inner_text()
    benchmark.refresh_from_db()
    assert benchmark.champion.name == "gbm-typing"
    assert ChampionChange.objects.filter(benchmark=benchmark).count() == 2


def test_a_failing_gate_shows_a_disabled_button_and_the_override_needs_a_reason(page, cast, bench):
    benchmark, case = bench
    dataset = benchmark.datasets.get()
    worse = submit(make_run(cast.project, cast.engineer, "tiny"), dataset, cast.engineer, case.worse)
    login(page, "lead")
    page.goto(f"/p/AUTH/evaluations/{worse.pk}/")
    button = page.locator("[data-testid=promote-button]")
    assert button.is_disabled()
    assert "The gate fails: auc:" in page.locator("[data-testid=promote-disabled-reason]").inner_text()
    page.get_by_text("Override the gate…").click()
    # The browser itself refuses an empty reason (required), and the server would too.
    page.get_by_role("button", name="Promote anyway").click()
    assert page.locator("#id_override_reason:invalid").count() == 1
    page.fill("#id_override_reason", "The rule is being retired for privacy reasons.")
    page.get_by_role("button", name="Promote anyway").click()
    page.wait_for_url(f"**/p/AUTH/benchmarks/{benchmark.pk}/")
    assert (
        "Gate overridden: The rule is being retired for privacy reasons."
        in page.locator("[data-testid=champion-history]").inner_text()
    )
    assert Benchmark.objects.get(pk=benchmark.pk).champion.name == "tiny"


def test_the_benchmark_page_draws_its_charts_and_switches_the_curves(page, cast, bench):
    benchmark, case = bench
    dataset = benchmark.datasets.get()
    better = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    worse = submit(make_run(cast.project, cast.engineer, "tiny"), dataset, cast.engineer, case.worse)
    login(page, "stakeholder")
    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    page.wait_for_selector("[data-testid=forest-plot] .main-svg")
    assert page.locator("[data-testid=forest-plot] .point").count() == 2
    page.wait_for_selector("[data-testid=roc-chart] .main-svg")
    assert page.locator("[data-testid=curves-card] [data-evaluation]").get_attribute("data-evaluation") == str(worse.pk)
    page.select_option("[data-testid=curve-select]", str(better.pk))
    page.wait_for_selector(f"[data-testid=curves-card] [data-evaluation='{better.pk}']")
    page.wait_for_selector("[data-testid=det-chart] .main-svg")
    assert page.locator("[data-testid=submit-form]").count() == 0  # stakeholders read only
