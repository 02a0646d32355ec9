"""Promotions: the baseline, the gate and its override, stale evidence, and two leads at once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from experiments.benchmarks import services
from experiments.models import Benchmark, ChampionChange, Evaluation, EvaluationStatus
from tests.conftest import api_client_for
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)
from tests.factories import SprintFactory, TicketFactory
from tickets.models import SprintState


@pytest.fixture
def case(tmp_path, settings):
    settings.EVALUATION_RESAMPLES = 200
    return write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)


@pytest.fixture
def bench(cast, case, media_root):
    return make_benchmark(cast.project, cast.lead, case)


def _promote(api, user, benchmark, evaluation, **body):
    return api(user).post(
        f"/api/v1/benchmarks/{benchmark.pk}/promote/", {"evaluation": evaluation.pk, **body}, format="json"
    )


@pytest.mark.django_db
def test_the_first_promotion_makes_the_baseline_and_records_the_sprint(api, cast, bench, case):
    sprint = SprintFactory(
        project=cast.project, state=SprintState.ACTIVE, started_at=timezone.now() - dt.timedelta(days=2)
    )
    ticket = TicketFactory(project=cast.project, title="A rule on typing rhythm")
    rule = submit(
        make_run(cast.project, cast.engineer, "rule", ticket.key), bench.datasets.get(), cast.engineer, case.champion
    )
    response = _promote(api, cast.lead, bench, rule, note="start here")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["previous_run"] is None
    assert body["gate_allowed"] is True and body["override_reason"] == ""
    assert body["sprint"] == sprint.name
    assert body["ticket"] == ticket.key
    assert body["comparison"] is None
    assert body["primary"]["value"] == pytest.approx(rule.primary_value)
    bench.refresh_from_db()
    assert bench.champion_id == rule.run_id and bench.champion_since is not None


@pytest.mark.django_db
def test_a_passing_gate_promotes_and_keeps_the_evidence(api, cast, bench, case):
    dataset = bench.datasets.get()
    rule = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(bench, rule, cast.lead)
    gbm = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    response = _promote(api, cast.lead, bench, gbm)
    assert response.status_code == 200
    change = ChampionChange.objects.get(pk=response.json()["id"])
    assert (change.previous_run_id, change.run_id, change.evaluation_id) == (rule.run_id, gbm.run_id, gbm.pk)
    assert change.comparison == gbm.result["comparison"]
    assert change.promoted_by == cast.lead
    assert ChampionChange.objects.filter(benchmark=bench).count() == 2


@pytest.mark.django_db
def test_a_failed_gate_needs_a_written_reason_which_is_recorded(api, cast, bench, case, web):
    dataset = bench.datasets.get()
    crown(
        bench, submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion), cast.lead
    )
    worse = submit(make_run(cast.project, cast.engineer, "tiny"), dataset, cast.engineer, case.worse)
    assert worse.gate_allowed is False

    refused = _promote(api, cast.lead, bench, worse)
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("override_reason: The gate failed (auc: the challenger is")
    blank = _promote(api, cast.lead, bench, worse, override_reason="   ")
    assert blank.status_code == 400
    bench.refresh_from_db()
    assert bench.champion.name == "rule"

    reason = "The rule leaks the test subjects; the small model is the honest baseline."
    accepted = _promote(api, cast.lead, bench, worse, override_reason=reason)
    assert accepted.status_code == 200
    assert accepted.json()["override_reason"] == reason
    assert accepted.json()["gate_allowed"] is False
    assert accepted.json()["gate_reasons"] == worse.gate_reasons
    page = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{bench.pk}/").content.decode()
    assert "Gate overridden: The rule leaks the test subjects" in page


@pytest.mark.django_db
def test_evidence_against_a_former_champion_conflicts(api, cast, bench, case):
    dataset = bench.datasets.get()
    crown(
        bench, submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion), cast.lead
    )
    first = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    second = submit(make_run(cast.project, cast.engineer, "gbm-2"), dataset, cast.engineer, case.challenger)
    assert _promote(api, cast.lead, bench, first).status_code == 200
    response = _promote(api, cast.lead, bench, second)
    assert response.status_code == 409
    assert "The champion changed since evaluation" in response.json()["message"]
    assert _promote(api, cast.lead, bench, first).status_code == 409  # already the champion
    bench.refresh_from_db()
    assert bench.champion_id == first.run_id
    assert ChampionChange.objects.filter(benchmark=bench).count() == 2


@pytest.mark.django_db
def test_evidence_on_an_old_dataset_or_old_settings_is_refused(api, cast, bench, case, tmp_path):
    dataset = bench.datasets.get()
    rule = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    services.benchmark_update(benchmark=bench, guardrails={"eer": 0.05})
    response = _promote(api, cast.lead, bench, rule)
    assert response.status_code == 400
    assert "primary metric, threshold or guardrails changed" in response.json()["message"]

    services.benchmark_update(benchmark=bench, guardrails={"eer": 0.02})
    v2 = tmp_path / "v2.csv"
    v2.write_text(case.truth.read_text().replace("subject000", "subject-zero"))
    services.dataset_upload(benchmark=bench, user=cast.lead, path=v2, original_name="v2.csv")
    response = _promote(api, cast.lead, bench, rule)
    assert response.status_code == 400
    assert response.json()["message"].endswith("evaluate the run on v2 first.")
    assert Benchmark.objects.get(pk=bench.pk).champion_id is None


@pytest.mark.django_db
def test_an_unfinished_evaluation_cannot_justify_a_promotion(api, cast, bench, case):
    queued = submit(
        make_run(cast.project, cast.engineer), bench.datasets.get(), cast.engineer, case.champion, run_now=False
    )
    response = _promote(api, cast.lead, bench, queued)
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"evaluation: Evaluation {queued.pk} is queued; only a succeeded evaluation can justify a promotion."
    )
    assert _promote(api, cast.lead, bench, Evaluation(pk=999_999)).json()["message"] == (
        "evaluation: Benchmark holdout has no evaluation 999999."
    )


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_promotions_one_wins_the_other_gets_a_conflict(cast, bench, case):
    dataset = bench.datasets.get()
    crown(
        bench, submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion), cast.lead
    )
    contenders = [
        submit(make_run(cast.project, cast.engineer, f"gbm-{i}"), dataset, cast.engineer, case.challenger)
        for i in range(2)
    ]
    assert all(c.gate_allowed for c in contenders)
    barrier = threading.Barrier(2)
    results: dict[int, int] = {}

    def promote(evaluation: Evaluation) -> None:
        client = api_client_for(cast.lead)
        try:
            barrier.wait(timeout=10)
            response = client.post(
                f"/api/v1/benchmarks/{bench.pk}/promote/", {"evaluation": evaluation.pk}, format="json"
            )
            results[evaluation.pk] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=promote, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results.values()) == [200, 409]
    winner = next(pk for pk, code in results.items() if code == 200)
    bench.refresh_from_db()
    assert bench.champion_id == Evaluation.objects.get(pk=winner).run_id
    changes = ChampionChange.objects.filter(benchmark=bench).order_by("promoted_at", "id")
    assert [c.evaluation_id for c in changes][1:] == [winner]


@pytest.mark.django_db
def test_promotion_problems_read_like_the_refusals(cast, bench, case):
    dataset = bench.datasets.get()
    rule = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    fresh = Benchmark.objects.get(pk=bench.pk)
    assert services.promotion_problem(benchmark=fresh, evaluation=rule, latest=dataset) is None
    crown(bench, rule, cast.lead)
    fresh = Benchmark.objects.get(pk=bench.pk)
    problem = services.promotion_problem(benchmark=fresh, evaluation=rule, latest=dataset)
    assert problem.conflict and problem.message == "rule is already the champion of holdout."
    Evaluation.objects.filter(pk=rule.pk).update(status=EvaluationStatus.FAILED)
    rule.refresh_from_db()
    assert not services.promotion_problem(benchmark=fresh, evaluation=rule, latest=dataset).conflict
