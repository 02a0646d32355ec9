"""The benchmark REST API: the role matrix on every endpoint, what each returns, and constant query counts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments.models import Benchmark, Evaluation, EvaluationStatus, PredictionSet
from tests.experiments.benchmark_helpers import (  # noqa: F401
    clone_evaluations,
    crown,
    file_field,
    make_benchmark,
    make_run,
    media_root_fixture,
    submit,
    write_binary_case,
)

pytestmark = pytest.mark.django_db


@dataclass
class World:
    benchmark: Benchmark
    baseline: Evaluation
    challenger: Evaluation
    case: object


@pytest.fixture
def world(cast, media_root, tmp_path, settings) -> World:
    settings.EVALUATION_RESAMPLES = 200
    case = write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)
    benchmark = make_benchmark(cast.project, cast.lead, case)
    dataset = benchmark.datasets.get()
    baseline = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(benchmark, baseline, cast.lead, note="the hand-written rule")
    challenger = submit(make_run(cast.project, cast.engineer, "gbm"), dataset, cast.engineer, case.challenger)
    return World(benchmark=benchmark, baseline=baseline, challenger=challenger, case=case)


ROLES = ["lead", "engineer", "stakeholder", "outsider", "anonymous"]
READ = {"lead": 200, "engineer": 200, "stakeholder": 200, "outsider": 404, "anonymous": 401}


def _matrix(**codes):
    return [pytest.param(who, codes[who], id=who) for who in ROLES]


def _client(api, cast, who):
    return api(None if who == "anonymous" else cast.user(who))


# --- Role matrix ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/AUTH/benchmarks/",
        "/api/v1/benchmarks/{b}/",
        "/api/v1/benchmarks/{b}/datasets/",
        "/api/v1/benchmarks/{b}/evaluations/",
        "/api/v1/evaluations/{e}/",
        "/api/v1/runs/{r}/predictions/",
    ],
)
@pytest.mark.parametrize(("who", "expected"), _matrix(**READ))
def test_reading_is_for_members(api, cast, world, path, who, expected):
    url = path.format(b=world.benchmark.pk, e=world.challenger.pk, r=world.challenger.run_id)
    assert _client(api, cast, who).get(url).status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=201, engineer=403, stakeholder=403, outsider=404, anonymous=401)
)
def test_creating_a_benchmark_is_for_leads(api, cast, world, who, expected):
    response = _client(api, cast, who).post(
        "/api/v1/projects/AUTH/benchmarks/", {"name": "fraud", "task": "multiclass"}, format="json"
    )
    assert response.status_code == expected
    assert Benchmark.objects.filter(name="fraud").exists() == (expected == 201)


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=200, engineer=403, stakeholder=403, outsider=404, anonymous=401)
)
def test_changing_a_benchmark_is_for_leads(api, cast, world, who, expected):
    response = _client(api, cast, who).patch(
        f"/api/v1/benchmarks/{world.benchmark.pk}/", {"description": "fewer lock-outs"}, format="json"
    )
    assert response.status_code == expected
    world.benchmark.refresh_from_db()
    assert (world.benchmark.description == "fewer lock-outs") == (expected == 200)


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=201, engineer=403, stakeholder=403, outsider=404, anonymous=401)
)
def test_uploading_a_dataset_version_is_for_leads(api, cast, world, who, expected):
    content = world.case.truth.read_text() + "extra-1,1,subject999\nextra-2,0,subject999\n"
    response = _client(api, cast, who).post(
        f"/api/v1/benchmarks/{world.benchmark.pk}/datasets/",
        {"file": file_field(content, "v2.csv")},
        format="multipart",
    )
    assert response.status_code == expected
    assert world.benchmark.datasets.count() == (2 if expected == 201 else 1)


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=201, engineer=201, stakeholder=403, outsider=404, anonymous=401)
)
def test_requesting_an_evaluation_is_for_engineers_and_leads(
    api, cast, world, who, expected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = _client(api, cast, who).post(
            f"/api/v1/benchmarks/{world.benchmark.pk}/evaluations/",
            {"run": world.challenger.run_id, "force": True},
            format="json",
        )
    assert response.status_code == expected
    assert len(queued) == (1 if expected == 201 else 0)  # the worker is nudged once the row is committed
    if expected == 201:
        body = response.json()
        assert body["created"] is True
        assert body["evaluation"]["status"] == "queued"


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=201, engineer=201, stakeholder=403, outsider=404, anonymous=401)
)
def test_uploading_predictions_is_for_engineers_and_leads(api, cast, world, who, expected):
    response = _client(api, cast, who).post(
        f"/api/v1/runs/{world.challenger.run_id}/predictions/",
        {"file": file_field(world.case.worse.read_bytes(), "worse.csv"), "benchmark": "holdout", "evaluate": False},
        format="multipart",
    )
    assert response.status_code == expected
    assert PredictionSet.objects.filter(original_name="worse.csv").exists() == (expected == 201)


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=200, engineer=403, stakeholder=403, outsider=404, anonymous=401)
)
def test_promoting_is_for_leads(api, cast, world, who, expected):
    response = _client(api, cast, who).post(
        f"/api/v1/benchmarks/{world.benchmark.pk}/promote/", {"evaluation": world.challenger.pk}, format="json"
    )
    assert response.status_code == expected
    world.benchmark.refresh_from_db()
    winner = world.challenger.run_id if expected == 200 else world.baseline.run_id
    assert world.benchmark.champion_id == winner


# --- What the endpoints return ----------------------------------------------------------
def test_a_benchmark_shows_its_champion_dataset_and_history(api, cast, world):
    body = api(cast.stakeholder).get(f"/api/v1/benchmarks/{world.benchmark.pk}/").json()
    assert body["name"] == "holdout"
    assert body["primary_metric"] == "auc"
    assert body["guardrails"] == {"eer": 0.02}
    assert body["champion"]["run"]["id"] == world.baseline.run_id
    assert body["champion"]["primary"]["value"] == pytest.approx(world.baseline.primary_value)
    assert body["current_dataset"]["version"] == 1
    assert body["current_dataset"]["n_rows"] == 200
    assert body["current_dataset"]["n_groups"] == 20
    assert body["evaluation_count"] == 2
    [baseline] = body["champion_history"]
    assert baseline["previous_run"] is None
    assert baseline["note"] == "the hand-written rule"
    assert baseline["promoted_by"] == "lead"


def test_an_evaluation_reports_metrics_comparison_and_gate(api, cast, world):
    body = api(cast.stakeholder).get(f"/api/v1/evaluations/{world.challenger.pk}/").json()
    assert body["status"] == "succeeded"
    assert body["progress"] == 100
    assert body["champion_run"]["id"] == world.baseline.run_id
    assert body["comparison"]["verdict"] == "better"
    assert body["comparison"]["delta"] == pytest.approx(world.challenger.result["comparison"]["delta"])
    assert body["gate"] == {"allowed": True, "reasons": []}
    assert body["summary"].startswith("AUC +")
    assert "better" in body["summary"] and "guardrail EER held" in body["summary"]
    assert set(body["report"]["metrics"]) >= {"auc", "eer", "accuracy", "f1"}
    assert body["report"]["curves"]["challenger"]["far"][0] == 0.0


def test_evaluations_filter_by_verdict_and_validate_filters(api, cast, world):
    client = api(cast.stakeholder)
    url = f"/api/v1/benchmarks/{world.benchmark.pk}/evaluations/"
    assert [e["id"] for e in client.get(url, {"verdict": "better"}).json()["results"]] == [world.challenger.pk]
    assert client.get(url, {"verdict": "meh"}).json()["message"].startswith("verdict: Unknown verdict 'meh'")
    assert client.get(url, {"dataset": 7}).json()["message"] == "dataset: Benchmark holdout has no dataset version 7."


def test_requesting_the_same_evaluation_again_reuses_it(api, cast, world):
    response = api(cast.engineer).post(
        f"/api/v1/benchmarks/{world.benchmark.pk}/evaluations/", {"run": world.challenger.run_id}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["evaluation"]["id"] == world.challenger.pk


def test_requesting_an_evaluation_without_predictions_says_so(api, cast, world):
    run = make_run(cast.project, cast.engineer, "empty-handed")
    response = api(cast.engineer).post(
        f"/api/v1/benchmarks/{world.benchmark.pk}/evaluations/", {"run": run.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"run: Run #{run.pk} has no predictions for holdout v1; upload its predictions file first."
    )


def test_a_run_of_another_project_cannot_be_evaluated(api, cast, world):
    from tests.factories import ProjectFactory

    other = make_run(ProjectFactory(key="ELSE"), cast.outsider)
    response = api(cast.engineer).post(
        f"/api/v1/benchmarks/{world.benchmark.pk}/evaluations/", {"run": other.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == f"run: There is no run {other.pk} in AUTH."


def test_uploaded_predictions_are_evaluated(api, cast, world, django_capture_on_commit_callbacks):
    run = make_run(cast.project, cast.engineer, "lr")
    with django_capture_on_commit_callbacks() as queued:
        response = api(cast.engineer).post(
            f"/api/v1/runs/{run.uuid}/predictions/",
            {"file": file_field(world.case.worse.read_bytes(), "lr.csv"), "benchmark": str(world.benchmark.pk)},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["predictions"]["n_rows"] == 200 and body["predictions"]["source"] == "api"
    assert body["created"] is True
    assert body["evaluation"]["status"] == "queued"
    assert body["evaluation"]["champion_run"]["id"] == world.baseline.run_id
    assert len(queued) == 1


def test_creating_a_benchmark_validates_its_settings(api, cast, world):
    client = api(cast.lead)
    url = "/api/v1/projects/AUTH/benchmarks/"
    cases = [
        ({"name": "holdout", "task": "binary"}, "name: AUTH already has a benchmark named holdout."),
        ({"name": "bad name!", "task": "binary"}, "name: Use up to 64 letters"),
        ({"name": "x", "task": "binary", "primary_metric": "rmse"}, "primary_metric: 'rmse' is not a binary metric"),
        (
            {"name": "x", "task": "binary", "guardrails": {"auc": 0.01}},
            "guardrails: auc is the primary metric; a guardrail protects another metric.",
        ),
        ({"name": "x", "task": "binary", "guardrails": {"eer": -1}}, "guardrails.eer: Ensure this value is greater"),
    ]
    for body, message in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["message"].startswith(message), response.json()["message"]
    assert Benchmark.objects.count() == 1


# --- Query counts -----------------------------------------------------------------------
def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_evaluation_list_costs_the_same_for_many_evaluations(api, cast, world, django_assert_num_queries):
    client = api(cast.stakeholder)
    url = f"/api/v1/benchmarks/{world.benchmark.pk}/evaluations/"
    clone_evaluations(world.challenger, 3)
    few = _queries(client, url)
    clone_evaluations(world.challenger, 40)
    # token+user, membership+project, benchmark, count, page (runs, tickets, champions, datasets, requesters joined)
    with django_assert_num_queries(5):
        response = client.get(url)
    assert response.json()["count"] == 45
    assert few == 5


def test_the_benchmark_list_costs_the_same_for_many_benchmarks(api, cast, world, django_assert_num_queries):
    client = api(cast.stakeholder)
    for i in range(5):
        make_benchmark(cast.project, cast.lead, name=f"extra-{i}")
    # token+user, membership+project, benchmarks (champion value, counts annotated), their latest datasets
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/projects/AUTH/benchmarks/").json()) == 6


def test_evaluations_that_are_not_done_show_their_state(api, cast, world):
    Evaluation.objects.filter(pk=world.challenger.pk).update(
        status=EvaluationStatus.RUNNING, progress=42, stage="resampling"
    )
    body = api(cast.engineer).get(f"/api/v1/evaluations/{world.challenger.pk}/").json()
    assert (body["status"], body["progress"], body["stage"], body["summary"]) == ("running", 42, "resampling", "")


def test_the_schema_documents_every_endpoint_with_its_real_error_codes():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    expected = {
        ("/api/v1/projects/{key}/benchmarks/", "get"): {"200", "401", "404"},
        ("/api/v1/projects/{key}/benchmarks/", "post"): {"201", "400", "401", "403", "404"},
        ("/api/v1/benchmarks/{benchmark_id}/", "patch"): {"200", "400", "401", "403", "404"},
        ("/api/v1/benchmarks/{benchmark_id}/datasets/", "post"): {"201", "400", "401", "403", "404"},
        ("/api/v1/benchmarks/{benchmark_id}/evaluations/", "post"): {"200", "201", "400", "401", "403", "404"},
        ("/api/v1/benchmarks/{benchmark_id}/promote/", "post"): {"200", "400", "401", "403", "404", "409"},
        ("/api/v1/evaluations/{evaluation_id}/", "get"): {"200", "401", "404"},
        ("/api/v1/runs/{run_id}/predictions/", "post"): {"201", "400", "401", "403", "404"},
    }
    for (path, method), codes in expected.items():
        assert set(paths[path][method]["responses"]) == codes, (path, method)
    upload = paths["/api/v1/runs/{run_id}/predictions/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


@pytest.mark.parametrize(
    ("who", "expected"), _matrix(lead=204, engineer=403, stakeholder=403, outsider=404, anonymous=401)
)
def test_an_unused_dataset_version_can_be_withdrawn_by_leads(api, cast, world, media_root, who, expected):
    from experiments.benchmarks import services

    content = world.case.truth.read_text() + "late-1,1,subject-late\n"
    truth = media_root.parent / "v2.csv"
    truth.write_text(content)
    v2 = services.dataset_upload(benchmark=world.benchmark, user=cast.lead, path=truth, original_name="v2.csv")
    assert (
        _client(api, cast, who).get(f"/api/v1/benchmarks/{world.benchmark.pk}/datasets/v2/").status_code == (READ[who])
    )
    response = _client(api, cast, who).delete(f"/api/v1/benchmarks/{world.benchmark.pk}/datasets/2/")
    assert response.status_code == expected
    assert world.benchmark.datasets.filter(pk=v2.pk).exists() == (expected != 204)
    assert (media_root / v2.file).exists() == (expected != 204)


def test_a_used_dataset_version_is_immutable(api, cast, world):
    response = api(cast.lead).delete(f"/api/v1/benchmarks/{world.benchmark.pk}/datasets/1/")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "dataset: Version 1 already has predictions or evaluations and cannot change; upload a new version instead."
    )
    assert world.benchmark.datasets.count() == 1


# --- Champion history: the newest embedded, all of them paged ---------------------------
def _older_promotions(benchmark, count: int) -> None:
    """``count`` copies of the benchmark's promotion, each a day older than the last."""
    import datetime

    from experiments.benchmarks.models import ChampionChange

    template = ChampionChange.objects.filter(benchmark=benchmark).order_by("id").first()
    fields = {
        f.attname: getattr(template, f.attname) for f in ChampionChange._meta.concrete_fields if f.attname != "id"
    }
    ChampionChange.objects.bulk_create(
        ChampionChange(
            **{**fields, "promoted_at": template.promoted_at - datetime.timedelta(days=i + 1), "note": f"old {i}"}
        )
        for i in range(count)
    )


def test_the_benchmark_embeds_its_newest_promotions_and_links_to_all_of_them(api, cast, world):
    from experiments.benchmarks.api import CHAMPION_HISTORY_EMBEDDED

    _older_promotions(world.benchmark, CHAMPION_HISTORY_EMBEDDED + 4)
    client = api(cast.stakeholder)
    body = client.get(f"/api/v1/benchmarks/{world.benchmark.pk}/").json()
    history = body["champion_history"]
    assert len(history) == CHAMPION_HISTORY_EMBEDDED
    assert (
        history[0]["note"] == "the hand-written rule" and history[-1]["note"] == f"old {CHAMPION_HISTORY_EMBEDDED - 2}"
    )
    assert body["champion_history_count"] == CHAMPION_HISTORY_EMBEDDED + 5
    url = f"http://testserver/api/v1/benchmarks/{world.benchmark.pk}/champion-history/"
    assert body["champion_history_url"] == url
    first = client.get(url, {"page_size": 6}).json()
    assert first["count"] == CHAMPION_HISTORY_EMBEDDED + 5 and len(first["results"]) == 6
    assert first["results"][0] == history[0] and first["previous"] is None
    notes = [r["note"] for r in first["results"]]
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        notes += [r["note"] for r in page["results"]]
    assert notes == ["the hand-written rule", *(f"old {i}" for i in range(CHAMPION_HISTORY_EMBEDDED + 4))]


@pytest.mark.parametrize(("who", "expected"), _matrix(**READ))
def test_the_champion_history_is_for_members(api, cast, world, who, expected):
    url = f"/api/v1/benchmarks/{world.benchmark.pk}/champion-history/"
    assert _client(api, cast, who).get(url).status_code == expected


def test_the_champion_history_costs_the_same_for_many_promotions(api, cast, world):
    client = api(cast.stakeholder)
    detail = f"/api/v1/benchmarks/{world.benchmark.pk}/"
    paged = f"{detail}champion-history/"
    _older_promotions(world.benchmark, 3)
    few = [_queries(client, detail), _queries(client, paged)]
    _older_promotions(world.benchmark, 40)
    assert [_queries(client, detail), _queries(client, paged)] == few
    # The paged history: token+user, membership+project, benchmark, count, page (joined), sprints (credit).
    assert few[1] == 6


def _older_datasets(benchmark, count: int) -> None:
    """``count`` more versions of the benchmark's dataset (same file, its digest made unique),
    numbered after the newest."""
    from experiments.benchmarks.models import EvaluationDataset

    template = EvaluationDataset.objects.filter(benchmark=benchmark).order_by("-version").first()
    fields = {
        f.attname: getattr(template, f.attname)
        for f in EvaluationDataset._meta.concrete_fields
        if f.attname not in ("id", "version", "note")
    }
    EvaluationDataset.objects.bulk_create(
        EvaluationDataset(**{**fields, "version": v, "note": f"v{v}", "sha256": f"{v:064x}"})
        for v in range(template.version + 1, template.version + count + 1)
    )


def test_the_benchmark_embeds_its_newest_dataset_versions_and_links_to_all_of_them(api, cast, world):
    from experiments.benchmarks.api import DATASETS_EMBEDDED

    _older_datasets(world.benchmark, DATASETS_EMBEDDED + 4)
    total = DATASETS_EMBEDDED + 5
    client = api(cast.stakeholder)
    body = client.get(f"/api/v1/benchmarks/{world.benchmark.pk}/").json()
    versions = [d["version"] for d in body["datasets"]]
    assert versions == list(range(total, total - DATASETS_EMBEDDED, -1))
    assert body["datasets_count"] == total
    url = f"http://testserver/api/v1/benchmarks/{world.benchmark.pk}/datasets/"
    assert body["datasets_url"] == url
    first = client.get(url, {"page_size": 6}).json()
    assert first["count"] == total and len(first["results"]) == 6 and first["previous"] is None
    assert first["results"][0] == body["datasets"][0]
    seen = [d["version"] for d in first["results"]]
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [d["version"] for d in page["results"]]
    assert seen == list(range(total, 0, -1))
    # A page number out of range is refused by name, like the API's other lists.
    assert client.get(url, {"page": 99}).status_code == 404


@pytest.mark.parametrize(("who", "expected"), _matrix(**READ))
def test_the_dataset_versions_are_for_members(api, cast, world, who, expected):
    url = f"/api/v1/benchmarks/{world.benchmark.pk}/datasets/"
    assert _client(api, cast, who).get(url, {"page": 1, "page_size": 5}).status_code == expected


def test_outsiders_cannot_tell_a_hidden_benchmarks_datasets_from_missing_ones(api, cast, world):
    client = api(cast.outsider)
    hidden = client.get(f"/api/v1/benchmarks/{world.benchmark.pk}/datasets/")
    absent = client.get("/api/v1/benchmarks/999999/datasets/")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == absent.json()


def test_the_dataset_versions_cost_the_same_for_many_versions(api, cast, world):
    client = api(cast.stakeholder)
    detail = f"/api/v1/benchmarks/{world.benchmark.pk}/"
    paged = f"{detail}datasets/"
    _older_datasets(world.benchmark, 3)
    few = [_queries(client, detail), _queries(client, paged)]
    _older_datasets(world.benchmark, 40)
    assert [_queries(client, detail), _queries(client, paged)] == few
    # The paged versions: token+user, membership+project, benchmark, count, page (uploader joined).
    assert few[1] == 5
