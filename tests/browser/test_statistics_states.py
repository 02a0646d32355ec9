"""In a real browser: a grouped benchmark refuses truth without a group column, and an evaluation on too few
groups reads as insufficient data, with the metrics that are not estimable and the sequence level in words."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings

from experiments.models import EvaluationDataset
from tests.browser.conftest import login
from tests.experiments.benchmark_helpers import crown, make_benchmark, make_run, submit, write_binary_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cleanup():
    made = []
    yield made
    for benchmark in made:
        shutil.rmtree(settings.MEDIA_ROOT / "benchmarks" / str(benchmark.pk), ignore_errors=True)


def test_a_grouped_benchmark_refuses_truth_without_a_group_column(page, cast, tmp_path, cleanup):
    benchmark = make_benchmark(cast.project, cast.lead, unit="subject", name="by-subject")
    cleanup.append(benchmark)
    flat = tmp_path / "flat.csv"
    flat.write_text("id,label\na,1\nb,0\n")
    login(page, "lead")
    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/datasets/")
    assert "rows grouped by subject" in page.locator(".lead-text").inner_text()
    form = page.locator("[data-testid=dataset-form]").first
    form.locator("input[type=file]").set_input_files(str(flat))
    form.get_by_role("button", name="Upload dataset").click()
    error = page.locator("[data-testid=file-error]").first.inner_text()
    assert "needs a 'group' column" in error and "flat.csv, line 1" in error
    assert EvaluationDataset.objects.filter(benchmark=benchmark).count() == 0


def test_few_groups_read_as_insufficient_data_with_the_sequence_level(page, cast, tmp_path, cleanup, settings):
    settings.EVALUATION_RESAMPLES = 100
    case = write_binary_case(tmp_path / "case", n_subjects=5, rows_per_subject=30)
    benchmark = make_benchmark(cast.project, cast.lead, case, unit="subject", name="five-subjects", guardrails={})
    cleanup.append(benchmark)
    dataset = benchmark.datasets.get()
    crown(
        benchmark,
        submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion),
        cast.lead,
    )
    evaluation = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)

    login(page, "stakeholder")
    page.goto(f"/p/AUTH/evaluations/{evaluation.pk}/")
    card = page.locator("[data-testid=verdict-card]")
    assert "Insufficient data" in card.inner_text()
    assert "No verdict: 5 groups; a verdict needs at least 10." in card.inner_text()
    level = f"{100 * evaluation.sequence_level:.2g}%"
    assert f"Test 1 on this set; level {level}" in page.locator("[data-testid=sequence-level]").inner_text()
    assert "Only 5 groups" in card.inner_text()
    rare = page.locator("tr[data-metric='frr_at_far_1e-3'] [data-testid=not-estimable]").inner_text()
    assert rare.startswith("not estimable with ") and "(needs ≥ 20,000)" in rare
    assert "(approximate)" in page.locator("tr[data-metric=auc]").inner_text()

    page.goto(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    assert "G = 5" in page.locator("[data-testid=dataset-groups]").inner_text()
    assert "Only 5 groups" in page.locator("[data-testid=groups-warning]").first.inner_text()
    usage = page.locator("[data-testid=sequence-usage]").inner_text()
    assert "v1 has been used for 1 comparison with the champion" in usage
    assert "The next comparison is test 2 on this set" in usage
