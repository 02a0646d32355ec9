"""Stopping with ``ship``: the online evidence must support the challenger and the benchmark's promotion
gate must accept it; then the champion history records the promotion with the online evidence."""

from __future__ import annotations

import pytest

from experiments.abtests import services
from experiments.models import Benchmark, ChampionChange, OnlineTest
from tests.experiments.abtests.helpers import events, jsonl, make_test
from tests.experiments.benchmark_helpers import (  # noqa: F401
    crown,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cast, tmp_path, settings, media_root):
    """A benchmark whose champion is a rule; a better model (its gate passes) and a worse one (it fails)."""
    settings.EVALUATION_RESAMPLES = 200
    case = write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)
    bench = make_benchmark(cast.project, cast.lead, case)
    dataset = bench.datasets.get()
    rule = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(bench, rule, cast.lead)
    gbm = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    worse = submit(make_run(cast.project, cast.engineer, "worse"), dataset, cast.engineer, case.worse)
    assert gbm.gate_allowed and not worse.gate_allowed
    bench.refresh_from_db()
    return bench, rule.run, gbm.run, worse.run


def _online(cast, bench, champion, challenger, *, n=4000, rates=None, rows=None):
    test = make_test(cast.project, cast.lead, benchmark=bench, runs=[champion, challenger], start=True)
    rows = rows if rows is not None else events(test, n, rates=rates)
    services.events_ingest(test=test, body=jsonl(rows), content_type="application/x-ndjson")
    return test


def _stop(api, user, test, **body):
    return api(user).post(f"/api/v1/abtests/{test.pk}/stop/", {"decision": "ship", **body}, format="json")


def _unchanged(bench, test, champion, changes: int) -> None:
    assert Benchmark.objects.get(pk=bench.pk).champion_id == champion.pk
    assert ChampionChange.objects.filter(benchmark=bench).count() == changes
    assert OnlineTest.objects.get(pk=test.pk).state == "running"


def test_a_supported_challenger_ships_through_the_gate_with_the_online_evidence(api, cast, world):
    bench, rule, gbm, _ = world
    test = _online(cast, bench, rule, gbm)
    response = _stop(api, cast.lead, test, note="Rolled out to everyone")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["decision"], body["decision_variant"]) == ("stopped", "ship", "challenger")
    assert Benchmark.objects.get(pk=bench.pk).champion_id == gbm.pk
    change = ChampionChange.objects.get(pk=body["champion_change"])
    assert (change.previous_run_id, change.run_id, change.promoted_by) == (rule.pk, gbm.pk, cast.lead)
    assert change.note.startswith(f"Online test #{test.pk}")
    assert "always-valid" in change.note and change.note.endswith("Rolled out to everyone")
    online = change.comparison["online"]
    assert online["variant"] == "challenger" and online["primary"]["cs_low"] > 0
    assert change.comparison["online_test"] == test.pk
    # Production is now sent to the shipped challenger, every unit.
    assign = api(cast.engineer).get(f"/api/v1/abtests/{test.pk}/assign/", {"unit": "anyone"}).json()
    assert assign["variant"] == "challenger" and assign["state"] == "stopped"


def test_without_online_support_the_ship_is_refused_with_the_reasons(api, cast, world):
    bench, rule, gbm, _ = world
    test = _online(cast, bench, rule, gbm, n=400, rates={"champion": 0.8, "challenger": 0.8})
    before = ChampionChange.objects.filter(benchmark=bench).count()
    response = _stop(api, cast.lead, test)
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("decision: ") and "authenticated" in message
    _unchanged(bench, test, rule, before)


def test_a_failed_offline_gate_refuses_the_ship_even_when_online_looks_good(api, cast, world):
    bench, rule, _, worse = world
    test = _online(cast, bench, rule, worse)
    before = ChampionChange.objects.filter(benchmark=bench).count()
    response = _stop(api, cast.lead, test)
    assert response.status_code == 400
    assert response.json()["message"].startswith("decision: The promotion gate refused: The gate failed")
    _unchanged(bench, test, rule, before)
    # A lead's written reason is the gate's own override, recorded in the history.
    response = _stop(api, cast.lead, test, override_reason="Online evidence outweighs the offline set")
    assert response.status_code == 200, response.content
    change = ChampionChange.objects.get(pk=response.json()["champion_change"])
    assert change.override_reason == "Online evidence outweighs the offline set" and not change.gate_allowed


def test_a_sample_ratio_mismatch_refuses_the_ship(api, cast, world):
    bench, rule, gbm, _ = world
    test = make_test(cast.project, cast.lead, benchmark=bench, runs=[rule, gbm], start=True)
    rows = events(test, 4000)
    # Lose a third of the champion's events, as a logging bug would.
    dropped = [r for k, r in enumerate(rows) if not (r["variant"] == "champion" and k % 3 == 0)]
    services.events_ingest(test=test, body=jsonl(dropped), content_type="application/x-ndjson")
    before = ChampionChange.objects.filter(benchmark=bench).count()
    response = _stop(api, cast.lead, test)
    assert response.status_code == 400
    assert "sample-ratio" in response.json()["message"]
    _unchanged(bench, test, rule, before)
    assert api(cast.stakeholder).get(f"/api/v1/abtests/{test.pk}/").json()["srm"]["flagged"] is True


def test_a_challenger_without_an_evaluation_cannot_ship(api, cast, world):
    bench, rule, _, _ = world
    fresh = make_run(cast.project, cast.engineer, "never-evaluated")
    test = _online(cast, bench, rule, fresh)
    response = _stop(api, cast.lead, test)
    assert response.status_code == 400
    assert "needs an evaluation of run" in response.json()["message"]
    _unchanged(bench, test, rule, ChampionChange.objects.filter(benchmark=bench).count())


def test_keeping_the_champion_leaves_the_benchmark_alone(api, cast, world):
    bench, rule, gbm, _ = world
    test = _online(cast, bench, rule, gbm)
    before = ChampionChange.objects.filter(benchmark=bench).count()
    response = _stop(api, cast.lead, test, decision="keep_champion")
    assert response.status_code == 200 and response.json()["decision"] == "keep_champion"
    assert Benchmark.objects.get(pk=bench.pk).champion_id == rule.pk
    assert ChampionChange.objects.filter(benchmark=bench).count() == before


def test_the_first_arm_must_be_the_current_champion(api, cast, world):
    bench, rule, gbm, _ = world
    body = {
        "name": "backwards",
        "arms": [{"variant": "a", "run": gbm.pk}, {"variant": "b", "run": rule.pk}],
        "primary": {"name": "ok", "min_effect": 0.02},
    }
    response = api(cast.lead).post(f"/api/v1/benchmarks/{bench.pk}/abtests/", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("arms[0].run: The first arm is the champion")
