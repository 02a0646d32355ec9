"""The unit of independence of a benchmark, and the sequence of comparisons on a reused evaluation set (LORD++)."""

from __future__ import annotations

import pytest

from experiments.benchmarks import selectors
from experiments.evaluation.sequential import Lord
from experiments.models import Benchmark, ChampionChange
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    file_field,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)

pytestmark = pytest.mark.django_db


# --- the unit of independence ------------------------------------------------------------------------------------
def test_a_grouped_benchmark_is_declared_through_the_api(api, cast):
    response = api(cast.lead).post(
        "/api/v1/projects/AUTH/benchmarks/",
        {"name": "held-out", "task": "binary", "unit": "subject", "effect_of_interest": 0.01},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["unit"] == "subject"
    assert response.json()["effect_of_interest"] == 0.01
    bad = api(cast.lead).post(
        "/api/v1/projects/AUTH/benchmarks/", {"name": "x", "task": "binary", "unit": "household"}, format="json"
    )
    assert bad.status_code == 400
    assert "unit" in str(bad.json())


def test_a_grouped_benchmark_refuses_a_truth_file_without_a_group_column(api, cast, media_root):
    benchmark = make_benchmark(cast.project, cast.lead, unit="subject")
    response = api(cast.lead).post(
        f"/api/v1/benchmarks/{benchmark.pk}/datasets/",
        {"file": file_field("id,label\na,1\nb,0\n", "truth.csv")},
        format="multipart",
    )
    assert response.status_code == 400
    message = str(response.json())
    assert "'group' column" in message and "truth.csv, line 1" in message
    assert benchmark.datasets.count() == 0
    grouped = api(cast.lead).post(
        f"/api/v1/benchmarks/{benchmark.pk}/datasets/",
        {"file": file_field("id,label,group\na,1,s1\nb,0,s1\nc,1,s2\nd,0,s2\n", "truth.csv")},
        format="multipart",
    )
    assert grouped.status_code == 201, grouped.json()
    assert grouped.json()["n_groups"] == 2


def test_an_independent_benchmark_accepts_a_file_without_groups(api, cast, media_root):
    benchmark = make_benchmark(cast.project, cast.lead)
    assert benchmark.unit == "independent"
    response = api(cast.lead).post(
        f"/api/v1/benchmarks/{benchmark.pk}/datasets/",
        {"file": file_field("id,label\na,1\nb,0\n", "truth.csv")},
        format="multipart",
    )
    assert response.status_code == 201


def test_the_dataset_page_shows_few_groups_with_a_warning(web, cast, media_root):
    benchmark = make_benchmark(cast.project, cast.lead, unit="subject")
    from experiments.benchmarks import services

    path = media_root / "few.csv"
    path.write_text("id,label,group\n" + "".join(f"r{i},{i % 2},s{i % 5}\n" for i in range(40)))
    services.dataset_upload(benchmark=benchmark, user=cast.lead, path=path, original_name="few.csv")
    page = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{benchmark.pk}/")
    text = page.content.decode()
    assert "G = 5" in text
    assert "Only 5 groups: comparisons give no verdict (insufficient data) below 10 groups" in text
    assert "rows grouped by subject" in text


# --- the sequence of comparisons ---------------------------------------------------------------------------------
@pytest.fixture
def crowned(cast, media_root, tmp_path, settings):
    settings.EVALUATION_RESAMPLES = 100
    case = write_binary_case(tmp_path / "case", n_subjects=30, rows_per_subject=10)
    benchmark = make_benchmark(cast.project, cast.lead, case, guardrails={}, effect_of_interest=0.001)
    dataset = benchmark.datasets.get()
    baseline = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(benchmark, baseline, cast.lead)
    return benchmark, dataset, case


def test_each_comparison_is_a_test_in_the_sets_sequence(cast, crowned):
    _, dataset, case = crowned
    first = submit(make_run(cast.project, cast.engineer, "a"), dataset, cast.engineer, case.worse)
    second = submit(make_run(cast.project, cast.engineer, "b"), dataset, cast.engineer, case.challenger)
    assert (first.sequence_test, second.sequence_test) == (1, 2)
    assert first.sequence_level == pytest.approx(Lord().level(1))
    assert second.sequence_level == pytest.approx(Lord().level(2))
    assert first.gate_allowed is False
    # The clearly better challenger clears even test 2's level, and its pass earns wealth for test 3.
    assert second.gate_allowed is True, second.gate_reasons
    assert selectors.sequence_position(dataset_id=dataset.pk) == (3, pytest.approx(Lord().level(3, [2])))


def test_the_gate_refuses_a_win_that_the_sequence_level_does_not_allow(cast, crowned, tmp_path):
    """A modest challenger (p ≈ 0.003 on AUC) would pass as test 1 (level 0.96%) but not as test 4 (0.12%)."""
    _, dataset, case = crowned
    modest = write_binary_case(tmp_path / "modest", n_subjects=30, rows_per_subject=10, challenger_strength=1.2)
    for k in range(3):
        submit(make_run(cast.project, cast.engineer, f"worse{k}"), dataset, cast.engineer, case.worse)
    evaluation = submit(make_run(cast.project, cast.engineer, "modest"), dataset, cast.engineer, modest.challenger)
    assert evaluation.sequence_test == 4
    assert evaluation.sequence_level == pytest.approx(Lord().level(4))  # 0.0012
    assert evaluation.verdict == "better"
    assert Lord().level(4) < evaluation.p_value < Lord().level(1)
    assert evaluation.gate_allowed is False
    assert evaluation.gate_reasons == [
        f"auc: better at 95%, but p = {evaluation.p_value:.2g} is above the level 0.12% that test 4 on this "
        "dataset version is allowed after the set's earlier comparisons (LORD++)"
    ]


def test_a_new_dataset_version_starts_a_new_sequence(cast, crowned, tmp_path):
    benchmark, dataset, case = crowned
    submit(make_run(cast.project, cast.engineer, "a"), dataset, cast.engineer, case.worse)
    from experiments.benchmarks import services

    v2 = write_binary_case(tmp_path / "v2", n_subjects=30, rows_per_subject=10, seed=9)
    services.dataset_upload(benchmark=benchmark, user=cast.lead, path=v2.truth, original_name="v2.csv")
    new = benchmark.datasets.get(version=2)
    assert selectors.sequence_position(dataset_id=new.pk) == (1, pytest.approx(Lord().level(1)))
    assert selectors.sequence_position(dataset_id=dataset.pk)[0] == 2


def test_the_benchmark_page_shows_the_use_of_the_set_and_counts_overrides(web, cast, crowned):
    benchmark, dataset, case = crowned
    worse = submit(make_run(cast.project, cast.engineer, "worse"), dataset, cast.engineer, case.worse)
    assert worse.gate_allowed is False
    with pytest.raises(Exception, match="override_reason"):
        crown(benchmark, worse, cast.lead)
    crown(benchmark, worse, cast.lead, override_reason="the old champion leaks personal data")
    assert ChampionChange.objects.filter(benchmark=benchmark, gate_allowed=False).count() == 1
    usage = selectors.dataset_sequence(benchmark=Benchmark.objects.get(pk=benchmark.pk), dataset=dataset)
    assert (usage.tests, usage.passed, usage.promotions, usage.overrides, usage.next_test) == (1, 0, 1, 1, 2)
    assert usage.too_small  # an effect of interest of 0.001 AUC cannot be detected on 300 rows
    text = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{benchmark.pk}/").content.decode()
    assert (
        "v1 has been used for 1 comparison with the champion (0 passed the gate; 1 promotion, 1 over a failed gate)"
    ) in text
    assert "The next comparison is test 2 on this set, at level" in text
    assert "upload a fresh held-out version" in text


def test_the_evaluation_page_and_api_show_the_sequence_level(web, api, cast, crowned):
    _, dataset, case = crowned
    evaluation = submit(make_run(cast.project, cast.engineer, "b"), dataset, cast.engineer, case.challenger)
    text = web(cast.stakeholder).get(f"/p/AUTH/evaluations/{evaluation.pk}/").content.decode()
    level = f"{100 * evaluation.sequence_level:.2g}%"
    assert f"Test 1 on this set; level {level}" in text
    body = api(cast.stakeholder).get(f"/api/v1/evaluations/{evaluation.pk}/").json()
    assert body["sequence"] == {"test": 1, "level": evaluation.sequence_level}
