"""No existence oracle: an outsider gets the same answer whether an object does not exist or belongs
to a project they cannot see.

Every route that names a project, a ticket or an object of a project is taken from the URL
resolver, so a new route is covered (or this test fails until its parameters are classified).
For each, three outsiders — anonymous, a lead of another project, a user of no project — ask once
for project AUTH's real object and once for one that does not exist; status and body must match.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from experiments.models import (
    Artifact,
    Benchmark,
    DemoMaterial,
    Evaluation,
    EvaluationDataset,
    LatestMetric,
    LoggedModel,
    ModelVersion,
    OnlineTest,
    PredictionSet,
    RegisteredModel,
    Run,
    ShareLink,
)
from integrations.models import Delivery, Webhook
from tests.factories import EpicFactory, SprintFactory, TicketFactory, UserFactory
from tickets.access import NOT_FOUND
from tickets.models import Comment, TicketKind

# URL parameters that name something inside a project (or the project itself).
OBJECT_PARAMS = {
    "key",
    "ticket_key",
    "run_id",
    "run_uuid",
    "experiment_id",
    "benchmark_id",
    "evaluation_id",
    "abtest_id",
    "version",
    "sprint_id",
    "epic_id",
    "comment_id",
    "link_id",
    "material_id",
    "username",
    "model_name",
    "webhook_id",
    "delivery_id",
    "model_id",
}
# Parameters that name no object: a share link's token is itself the credential (tested in
# tests/experiments/dashboards/test_share_links.py); the MLflow API's endpoint name is covered
# by MLFLOW_CASES below; an API token belongs to a user, not a project (the same 404 for someone
# else's token and a missing one is tested in tests/accounts/test_tokens.py, and for notifications in
# tests/inbox/test_api_notifications.py and tests/inbox/test_pages.py).
OTHER_PARAMS = {"token", "path", "token_id", "notification_id"}
# Routes whose parameters are all covered by the cases below or that are not object routes.
PATH_ROUTES = {"mlflow-artifact", "mlflow-ajax-artifact", "run-artifact"}
# Routes authenticated by a signature, not a session: every unsigned caller gets the same 403
# (tests/integrations/test_git_links.py checks a missing project is told the same as a wrong signature).
SIGNED_ROUTES = {"api-git-events"}


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, set[str]]]:
    """``(url name, parameter names)`` of every named route outside the admin."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            found += _routes(entry, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((entry.name, set(entry.pattern.regex.groupindex)))
    return found


ROUTES = _routes()
OBJECT_ROUTES = sorted(
    name
    for name, params in ROUTES
    if (params & OBJECT_PARAMS or (name in PATH_ROUTES and "path" in params)) and "token" not in params
)


def test_every_route_parameter_is_classified():
    unknown = {(name, p) for name, params in ROUTES for p in params if p not in OBJECT_PARAMS | OTHER_PARAMS}
    assert unknown == set(), "Say whether these parameters name an object of a project (OBJECT_PARAMS) or not."


def test_the_object_routes_are_found():
    assert {"api-benchmark-detail", "evaluation-detail", "ticket-detail", "mlflow-run", "share-link-detail"} <= set(
        OBJECT_ROUTES
    )
    assert {"api-abtest-detail", "api-abtest-assign", "api-abtest-events", "abtest-detail", "abtest-upload"} <= set(
        OBJECT_ROUTES
    )
    # "Load more" of the backlog's lists and the board's columns: the project and the sprint in the
    # path; the cursor (``after``), the column (``status``) and the filters are query parameters.
    assert {"backlog-rows", "backlog-sprint-rows", "board-cards"} <= set(OBJECT_ROUTES)
    assert len(OBJECT_ROUTES) > 80


@pytest.fixture
def world(cast, settings, tmp_path):
    """One of everything in project AUTH; the values that name it, and values that name nothing."""
    settings.MEDIA_ROOT = str(tmp_path)
    project = cast.project
    now = timezone.now()
    sprint = SprintFactory(project=project)
    epic = EpicFactory(project=project)
    ticket = TicketFactory(project=project, kind=TicketKind.QUESTION, question="Q?", hypothesis="H.")
    comment = Comment.objects.create(ticket=ticket, author=cast.engineer, body="Hi", created_at=now)
    run = Run.objects.create(project=project, name="r", start_time=now, started_by=cast.engineer)
    LatestMetric.objects.create(run=run, project=project, key="loss", value=1.0, step=0, timestamp=1)
    Artifact.objects.create(run=run, path="model.txt", size=1)
    benchmark = Benchmark.objects.create(project=project, name="holdout", task="binary", primary_metric="auc")
    dataset = EvaluationDataset.objects.create(
        benchmark=benchmark, version=1, file="x.csv", original_name="x.csv", sha256="a" * 64, size=1, n_rows=1
    )
    predictions = PredictionSet.objects.create(
        run=run, dataset=dataset, file="p.csv", original_name="p.csv", sha256="b" * 64, size=1, n_rows=1,
        n_covered=1, source="api",
    )  # fmt: skip
    evaluation = Evaluation.objects.create(
        benchmark=benchmark, dataset=dataset, run=run, predictions=predictions, primary_metric="auc",
        threshold=0.5, n_resamples=10, key="k", queued_at=now,
    )  # fmt: skip
    link = ShareLink.objects.create(
        project=project, token_hash="c" * 64, token_hint="cccccc", created_at=now,
        expires_at=now + datetime.timedelta(days=3),
    )  # fmt: skip
    material = DemoMaterial.objects.create(ticket=ticket, kind="note", note="n", created_at=now)
    model = RegisteredModel.objects.create(project=project, name="scorer", last_version=1)
    ModelVersion.objects.create(registered_model=model, version=1, source="runs:/x/model", run=run)
    webhook = Webhook.objects.create(
        project=project, url="https://example.com/h", events=["ticket.created"], secret="s" * 20
    )
    delivery = Delivery.objects.create(webhook=webhook, event_type="ticket.created", event_id="e", body="{}")
    abtest = OnlineTest.objects.create(
        benchmark=benchmark, name="live",
        arms=[{"variant": "a", "run": run.pk, "weight": 1}, {"variant": "b", "run": run.pk, "weight": 1}],
        primary={"name": "ok", "kind": "binary", "min_effect": 0.02}, state="running",
    )  # fmt: skip
    model = LoggedModel.objects.create(project=project, run=run, name="m")
    real = {
        "key": project.key,
        "ticket_key": ticket.key,
        "run_id": run.pk,
        "run_uuid": run.uuid,
        "experiment_id": project.pk,
        "benchmark_id": benchmark.pk,
        "evaluation_id": evaluation.pk,
        "abtest_id": abtest.pk,
        "version": 1,
        "sprint_id": sprint.pk,
        "epic_id": epic.pk,
        "comment_id": comment.pk,
        "link_id": link.pk,
        "material_id": material.pk,
        "username": cast.engineer.username,
        "model_name": model.name,
        "webhook_id": webhook.pk,
        "delivery_id": delivery.pk,
        "model_id": model.model_id,
        "path": f"{project.pk}/{run.uuid}/artifacts/model.txt",
    }
    # Nothing by these names exists anywhere (AUTH-999 is a ticket AUTH does not have).
    missing = {
        "key": "NOPE",
        "ticket_key": f"{project.key}-999",
        "run_id": 999999,
        "run_uuid": "f" * 32,
        "experiment_id": 999999,
        "benchmark_id": 999999,
        "evaluation_id": 999999,
        "abtest_id": 999999,
        "version": 999,
        "sprint_id": 999999,
        "epic_id": 999999,
        "comment_id": 999999,
        "link_id": 999999,
        "material_id": 999999,
        "username": "nobody-of-that-name",
        "model_name": "no-model-of-that-name",
        "webhook_id": 999999,
        "delivery_id": 999999,
        "model_id": "m-" + "f" * 32,
        "path": f"999999/{'e' * 32}/artifacts/model.txt",
    }
    return real, missing


def _outsiders(cast):
    """Anonymous, a lead of another project (OTHER), a user of no project."""
    return {"anonymous": None, "member of another project": cast.outsider, "nobody": UserFactory(username="nobody")}


def _ask(client, user, url: str, *, data=None):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(url, data)
    if response.status_code == 405:
        response = client.post(url, data or {})
    return response


def _params(name: str) -> set[str]:
    return next(params for route, params in ROUTES if route == name)


def _url(name: str, values: dict) -> str:
    params = _params(name)
    kwargs = {p: values[p] for p in params}
    if name == "api-run-metric":
        kwargs["key"] = "loss"  # here ``key`` is a metric's name, not a project's
    if name == "run-artifact":
        kwargs["path"] = "model.txt"
    if name == "mlflow-project-registry":
        kwargs["path"] = "registered-models/search"  # the project-scoped registry; names in MLFLOW_CASES
    return reverse(name, kwargs=kwargs)


def _same(first, second) -> None:
    assert (first.status_code, first.content) == (second.status_code, second.content)


@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_outsiders_cannot_tell_a_hidden_object_from_a_missing_one(client, cast, world, name):
    real, missing = world
    for who, user in _outsiders(cast).items():
        hidden = _ask(client, user, _url(name, real))
        absent = _ask(client, user, _url(name, missing))
        _same(hidden, absent)
        assert hidden.status_code in (302, 401, 403, 404), (who, hidden.status_code)
        if name in SIGNED_ROUTES:
            assert hidden.status_code == 403, (who, hidden.content[:300])
        elif user is not None:
            assert hidden.status_code == 404, (who, hidden.content[:300])
            assert NOT_FOUND.encode() in hidden.content or b"RESOURCE_DOES_NOT_EXIST" in hidden.content


# The MLflow API names objects in the query or the body.
MLFLOW_CASES = [
    ("GET", "runs/get", {"run_id": "run_uuid"}),
    ("GET", "metrics/get-history", {"run_id": "run_uuid", "metric_key": "loss"}),
    ("GET", "experiments/get", {"experiment_id": "experiment_id"}),
    ("GET", "experiments/get-by-name", {"experiment_name": "key"}),
    ("POST", "runs/create", {"experiment_id": "experiment_id"}),
    ("POST", "runs/search", {"experiment_ids": ["experiment_id"]}),
    ("POST", "runs/update", {"run_id": "run_uuid", "status": "FINISHED"}),
    ("POST", "runs/log-batch", {"run_id": "run_uuid", "metrics": []}),
    ("POST", "runs/set-tag", {"run_id": "run_uuid", "key": "t", "value": "v"}),
    ("POST", "logged-models/search", {"experiment_ids": ["experiment_id"]}),
    # The model registry names a registered model (and a version) in the query or the body.
    ("GET", "registered-models/get", {"name": "model_name"}),
    ("GET", "registered-models/get-latest-versions", {"name": "model_name"}),
    ("POST", "registered-models/rename", {"name": "model_name", "new_name": "renamed"}),
    ("PATCH", "registered-models/update", {"name": "model_name", "description": "d"}),
    ("DELETE", "registered-models/delete", {"name": "model_name"}),
    ("POST", "registered-models/set-tag", {"name": "model_name", "key": "k", "value": "v"}),
    ("DELETE", "registered-models/delete-tag", {"name": "model_name", "key": "k"}),
    ("POST", "registered-models/alias", {"name": "model_name", "alias": "champion", "version": "1"}),
    ("DELETE", "registered-models/alias", {"name": "model_name", "alias": "challenger"}),
    ("GET", "registered-models/alias", {"name": "model_name", "alias": "champion"}),
    ("POST", "model-versions/create", {"name": "model_name", "source": "runs:/x/model"}),
    ("GET", "model-versions/get", {"name": "model_name", "version": "1"}),
    ("PATCH", "model-versions/update", {"name": "model_name", "version": "1", "description": "d"}),
    ("DELETE", "model-versions/delete", {"name": "model_name", "version": "1"}),
    ("GET", "model-versions/get-download-uri", {"name": "model_name", "version": "1"}),
    ("POST", "model-versions/transition-stage", {"name": "model_name", "version": "1", "stage": "Production"}),
    ("POST", "model-versions/set-tag", {"name": "model_name", "version": "1", "key": "k", "value": "v"}),
    ("DELETE", "model-versions/delete-tag", {"name": "model_name", "version": "1", "key": "k"}),
    ("POST", "logged-models", {"experiment_id": "experiment_id", "name": "m"}),
    ("POST", "runs/delete", {"run_id": "run_uuid"}),
    ("POST", "runs/restore", {"run_id": "run_uuid"}),
    ("POST", "runs/log-inputs", {"run_id": "run_uuid", "datasets": []}),
    ("POST", "runs/outputs", {"run_id": "run_uuid", "models": []}),
    ("POST", "experiments/delete", {"experiment_id": "experiment_id"}),
    ("POST", "experiments/restore", {"experiment_id": "experiment_id"}),
]


def _fill(body: dict, values: dict) -> dict:
    """The body with each placeholder (a name in ``values``) replaced; other strings are literal."""
    filled = {}
    for name, value in body.items():
        if isinstance(value, list):
            filled[name] = [str(values[item]) for item in value]
        else:
            filled[name] = str(values[value]) if value in values else value
    return filled


@pytest.mark.parametrize(("method", "endpoint", "body"), MLFLOW_CASES, ids=[f"{c[0]} {c[1]}" for c in MLFLOW_CASES])
def test_mlflow_outsiders_cannot_tell_a_hidden_object_from_a_missing_one(api, cast, world, method, endpoint, body):
    real, missing = world
    url = f"/mlflow/api/2.0/mlflow/{endpoint}"
    for user in (cast.outsider, UserFactory(username="nobody")):
        client = api(user)
        answers = []
        for values in (real, missing):
            data = _fill(body, values)
            if method == "GET":
                response = client.get(url, data)
            else:
                response = getattr(client, method.lower())(url, data, format="json")
            answers.append(response)
        _same(*answers)
        assert answers[0].status_code == 404
        assert answers[0].json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_mlflow_artifact_list_answers_outsiders_alike(api, cast, world):
    real, missing = world
    client = api(cast.outsider)
    url = "/mlflow/api/2.0/mlflow-artifacts/artifacts"
    _same(client.get(url, {"path": real["path"]}), client.get(url, {"path": missing["path"]}))


def test_a_member_is_told_what_is_missing_in_their_project(api, cast, world):
    response = api(cast.stakeholder).get("/api/v1/projects/AUTH/epics/999999/")
    assert response.status_code == 404
    assert response.json()["message"] == "There is no epic 999999 in AUTH."


def test_a_member_learns_nothing_about_other_projects_objects(api, cast, world):
    """A benchmark of another project, asked for under this project's URL, is 'not in this project'."""
    from tests.factories import ProjectFactory

    other = Benchmark.objects.create(project=ProjectFactory(key="ELSE"), name="b", task="binary", primary_metric="auc")
    client = api(cast.stakeholder)
    hidden = client.get(f"/api/v1/benchmarks/{other.pk}/")
    absent = client.get("/api/v1/benchmarks/999999/")
    _same(hidden, absent)
    assert hidden.json()["message"] == NOT_FOUND


@pytest.mark.parametrize("text", ["³", "١٢", "12abc", "-1", "99999999999999999999999"])
def test_ids_are_ascii_digits_within_64_bits(api, web, cast, world, text):
    """``str.isdigit`` accepts '³'; every id in a URL or query goes through one parser instead."""
    for url in (f"/api/v1/benchmarks/{text}/", f"/api/v1/runs/{text}/", f"/api/v1/evaluations/{text}/"):
        response = api(cast.lead).get(url)
        assert response.status_code == 404, url
        assert response.json()["message"] == NOT_FOUND
    page = web(cast.lead).get("/p/AUTH/board/", {"sprint": text})
    assert page.status_code == 200
    compare = web(cast.lead).get("/p/AUTH/runs/compare/", {"runs": [text, text]})
    assert compare.status_code == 400
