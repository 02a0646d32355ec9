"""The MLflow REST protocol as AgileML speaks it: error codes, limits, roles, idempotency."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from experiments.models import Artifact, LatestMetric, Metric, Param, Run, Tag
from tests.experiments.conftest import mlflow_get, mlflow_post
from tests.experiments.factories import RunFactory
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(cast):
    return RunFactory(project=cast.project, started_by=cast.engineer)


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error_code"] == code
    assert body["message"]
    return body["message"]


# --- Experiments ----------------------------------------------------------------------
def test_experiment_by_name_is_the_project(client, cast):
    response = mlflow_get(client, "experiments/get-by-name", {"experiment_name": "AUTH"}, user=cast.stakeholder)
    assert response.status_code == 200
    assert response.json()["experiment"]["experiment_id"] == str(cast.project.pk)
    assert response.json()["experiment"]["name"] == "AUTH"


@pytest.mark.parametrize("who", ["outsider", "engineer"])
def test_unknown_or_foreign_experiment_name_does_not_exist(client, cast, who):
    name = "OTHER" if who == "engineer" else "AUTH"
    response = mlflow_get(client, "experiments/get-by-name", {"experiment_name": name}, user=cast.user(who))
    _error(response, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("engineer", 200, None),
        ("lead", 200, None),
        ("stakeholder", 403, "PERMISSION_DENIED"),
        ("outsider", 400, "INVALID_PARAMETER_VALUE"),
    ],
)
def test_create_experiment_only_for_projects_you_can_write(client, cast, who, status, code):
    response = mlflow_post(client, "experiments/create", {"name": "AUTH"}, user=cast.user(who))
    if code:
        _error(response, status, code)
    else:
        assert response.json() == {"experiment_id": str(cast.project.pk)}


def test_creating_an_unknown_experiment_names_it(client, cast):
    message = _error(
        mlflow_post(client, "experiments/create", {"name": "Default-2"}, user=cast.lead), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "Default-2" in message


def test_experiment_get_and_search(client, cast):
    response = mlflow_get(client, "experiments/get", {"experiment_id": str(cast.project.pk)}, user=cast.engineer)
    assert response.json()["experiment"]["name"] == "AUTH"
    _error(
        mlflow_get(client, "experiments/get", {"experiment_id": "0"}, user=cast.engineer),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    found = mlflow_post(client, "experiments/search", {"filter": "name = 'AUTH'"}, user=cast.engineer).json()
    assert [e["name"] for e in found["experiments"]] == ["AUTH"]
    assert mlflow_post(client, "experiments/search", {}, user=cast.outsider).json()["experiments"][0]["name"] == "OTHER"


# --- Authentication and roles on every endpoint ---------------------------------------
def _write_calls(run):
    return [
        ("runs/create", {"experiment_id": str(run.project_id)}),
        ("runs/update", {"run_id": run.uuid, "status": "KILLED"}),
        ("runs/log-parameter", {"run_id": run.uuid, "key": "lr", "value": "1"}),
        ("runs/log-metric", {"run_id": run.uuid, "key": "loss", "value": 1, "timestamp": 1, "step": 0}),
        ("runs/log-batch", {"run_id": run.uuid, "metrics": [{"key": "m", "value": 1, "timestamp": 1}]}),
        ("runs/set-tag", {"run_id": run.uuid, "key": "k", "value": "v"}),
        ("runs/delete-tag", {"run_id": run.uuid, "key": "k"}),
    ]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("stakeholder", 403, "PERMISSION_DENIED"),
        ("outsider", 404, "RESOURCE_DOES_NOT_EXIST"),
        (None, 401, "UNAUTHENTICATED"),
    ],
)
def test_write_endpoints_refuse_who_cannot_write(client, cast, run, who, status, code):
    for path, body in _write_calls(run):
        _error(mlflow_post(client, path, body, user=cast.user(who) if who else None), status, code)
    assert Run.objects.count() == 1
    assert not Metric.objects.exists() and not Param.objects.exists() and not Tag.objects.exists()
    run.refresh_from_db()
    assert run.status == "finished"


@pytest.mark.parametrize("who", ["engineer", "lead"])
def test_write_endpoints_work_for_engineers_and_leads(client, cast, run, who):
    Tag.objects.create(run=run, key="k", value="old")
    for path, body in _write_calls(run):
        response = mlflow_post(client, path, body, user=cast.user(who))
        assert response.status_code == 200, (path, response.content)
    assert Run.objects.count() == 2
    run.refresh_from_db()
    assert run.status == "killed"
    assert not Tag.objects.filter(run=run, key="k").exists()


@pytest.mark.parametrize(("who", "status"), [("stakeholder", 200), ("engineer", 200), ("outsider", 404), (None, 401)])
def test_read_endpoints_role_matrix(client, cast, run, who, status):
    user = cast.user(who) if who else None
    calls = [
        mlflow_get(client, "runs/get", {"run_id": run.uuid}, user=user),
        mlflow_get(client, "metrics/get-history", {"run_id": run.uuid, "metric_key": "loss"}, user=user),
        mlflow_post(client, "runs/search", {"experiment_ids": [str(run.project_id)]}, user=user),
        mlflow_get(client, "experiments/get", {"experiment_id": str(run.project_id)}, user=user),
    ]
    assert [r.status_code for r in calls] == [status] * 4


def test_invalid_token_is_unauthenticated(client, cast):
    response = mlflow_post(client, "runs/create", {"experiment_id": str(cast.project.pk)}, token="not-a-token")
    assert "MLFLOW_TRACKING_TOKEN" in _error(response, 401, "UNAUTHENTICATED")


def test_unknown_endpoint_is_json_not_a_page(client, cast):
    _error(mlflow_post(client, "runs/frobnicate", {}, user=cast.engineer), 404, "ENDPOINT_NOT_FOUND")
    response = client.get("/mlflow/api/2.0/nothing-here")
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_malformed_json_is_a_clear_400(client, cast):
    response = client.post(
        "/mlflow/api/2.0/mlflow/runs/log-metric", "{not json", content_type="application/json", **_auth(cast.engineer)
    )
    _error(response, 400, "MALFORMED_REQUEST")


# --- Runs -----------------------------------------------------------------------------
def test_unknown_run_does_not_exist(client, cast):
    for response in (
        mlflow_get(client, "runs/get", {"run_id": "f" * 32}, user=cast.engineer),
        mlflow_post(client, "runs/log-metric", {"run_id": "f" * 32, "key": "x", "value": 1}, user=cast.engineer),
        mlflow_get(client, "runs/get", {"run_id": "../etc"}, user=cast.engineer),
    ):
        _error(response, 404, "RESOURCE_DOES_NOT_EXIST")


def test_default_experiment_zero_explains_set_experiment(client, cast):
    message = _error(
        mlflow_post(client, "runs/create", {"experiment_id": "0"}, user=cast.engineer), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    assert "set_experiment" in message


def test_create_run_with_tags_sets_fields(client, cast):
    ticket = TicketFactory(project=cast.project)
    body = {
        "experiment_id": str(cast.project.pk),
        "start_time": 1_700_000_000_000,
        "run_name": "baseline",
        "tags": [
            {"key": "agileml.ticket", "value": ticket.key.lower()},
            {"key": "mlflow.source.git.commit", "value": "a" * 40},
            {"key": "mlflow.source.name", "value": "train.py"},
            {"key": "mlflow.note.content", "value": "first try"},
        ],
    }
    response = mlflow_post(client, "runs/create", body, user=cast.engineer)
    assert response.status_code == 200
    info = response.json()["run"]["info"]
    assert info["status"] == "RUNNING"
    assert info["start_time"] == 1_700_000_000_000
    assert info["artifact_uri"] == f"mlflow-artifacts:/{cast.project.pk}/{info['run_id']}/artifacts"
    run = Run.objects.get(uuid=info["run_id"])
    assert (run.ticket, run.name, run.source_commit, run.entry_point, run.notes) == (
        ticket,
        "baseline",
        "a" * 40,
        "train.py",
        "first try",
    )
    tags = {t["key"]: t["value"] for t in response.json()["run"]["data"]["tags"]}
    assert tags["agileml.ticket"] == ticket.key
    assert tags["mlflow.note.content"] == "first try"


def test_ticket_of_another_project_is_refused(client, cast, run):
    other = TicketFactory(project=cast.outsider.memberships.get().project)
    message = _error(
        mlflow_post(
            client, "runs/set-tag", {"run_id": run.uuid, "key": "agileml.ticket", "value": other.key}, user=cast.lead
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert other.key in message
    run.refresh_from_db()
    assert run.ticket is None


def test_unknown_status_is_refused(client, cast, run):
    response = mlflow_post(client, "runs/update", {"run_id": run.uuid, "status": "DONE"}, user=cast.engineer)
    assert "DONE" in _error(response, 400, "INVALID_PARAMETER_VALUE")


# --- Batches ---------------------------------------------------------------------------
def _metrics(n: int, key: str = "m") -> list[dict]:
    return [{"key": key, "value": i, "timestamp": 1_000 + i, "step": i} for i in range(n)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metrics": _metrics(1001)}, "1000 metrics"),
        ({"params": [{"key": f"p{i}", "value": "1"} for i in range(101)]}, "100 params"),
        ({"tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]}, "100 tags"),
        (
            {"metrics": _metrics(950), "params": [{"key": f"p{i}", "value": "1"} for i in range(60)]},
            "1000 metrics, params and tags",
        ),
    ],
)
def test_oversized_batch_is_refused_whole(client, cast, run, body, field):
    response = mlflow_post(client, "runs/log-batch", {"run_id": run.uuid, **body}, user=cast.engineer)
    assert field in _error(response, 400, "INVALID_PARAMETER_VALUE")
    assert not Metric.objects.exists() and not Param.objects.exists() and not Tag.objects.exists()


def test_full_batch_is_accepted(client, cast, run):
    body = {"run_id": run.uuid, "metrics": _metrics(1000)}
    assert mlflow_post(client, "runs/log-batch", body, user=cast.engineer).status_code == 200
    assert Metric.objects.filter(run=run).count() == 1000
    assert LatestMetric.objects.get(run=run, key="m").step == 999


def test_a_bad_item_rejects_the_whole_batch(client, cast, run):
    body = {
        "run_id": run.uuid,
        "metrics": [*_metrics(5), {"key": "bad key!", "value": 1, "timestamp": 1}],
        "params": [{"key": "lr", "value": "0.1"}],
    }
    message = _error(mlflow_post(client, "runs/log-batch", body, user=cast.engineer), 400, "INVALID_PARAMETER_VALUE")
    assert "bad key!" in message
    assert not Metric.objects.exists() and not Param.objects.exists()


def test_changed_param_in_batch_is_refused_whole(client, cast, run):
    Param.objects.create(run=run, key="lr", value="0.1")
    body = {"run_id": run.uuid, "metrics": _metrics(3), "params": [{"key": "lr", "value": "0.2"}]}
    message = _error(mlflow_post(client, "runs/log-batch", body, user=cast.engineer), 400, "INVALID_PARAMETER_VALUE")
    assert "lr" in message and "0.1" in message and "0.2" in message
    assert not Metric.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "number"), (None, "number"), (True, "number")],
)
def test_non_numeric_metric_is_refused(client, cast, run, value, message):
    body = {"run_id": run.uuid, "key": "loss", "value": value, "timestamp": 1}
    assert message in _error(
        mlflow_post(client, "runs/log-metric", body, user=cast.engineer), 400, "INVALID_PARAMETER_VALUE"
    )


def test_same_request_twice_stores_points_once(client, cast, run):
    body = {"run_id": run.uuid, "metrics": _metrics(10), "params": [{"key": "lr", "value": "1"}]}
    for _ in range(2):
        assert mlflow_post(client, "runs/log-batch", body, user=cast.engineer).status_code == 200
    assert Metric.objects.filter(run=run).count() == 10
    assert Param.objects.filter(run=run).count() == 1


def test_latest_value_is_the_highest_step_not_the_last_logged(client, cast, run):
    for step, value in [(5, 0.5), (2, 0.9), (5, 0.4), (7, 0.3), (6, 0.1)]:
        body = {"run_id": run.uuid, "key": "loss", "value": value, "timestamp": 100, "step": step}
        mlflow_post(client, "runs/log-metric", body, user=cast.engineer)
    latest = LatestMetric.objects.get(run=run, key="loss")
    assert (latest.step, latest.value) == (7, 0.3)
    history = mlflow_get(client, "metrics/get-history", {"run_id": run.uuid, "metric_key": "loss"}, user=cast.engineer)
    assert [(m["step"], m["value"]) for m in history.json()["metrics"]] == [
        (2, 0.9),
        (5, 0.5),
        (5, 0.4),
        (6, 0.1),
        (7, 0.3),
    ]


def test_nan_and_infinity_round_trip(client, cast, run):
    body = {
        "run_id": run.uuid,
        "metrics": [
            {"key": "a", "value": "NaN", "timestamp": 1, "step": 0},
            {"key": "b", "value": "Infinity", "timestamp": 1, "step": 0},
            {"key": "c", "value": "-Infinity", "timestamp": 1, "step": 0},
        ],
    }
    assert mlflow_post(client, "runs/log-batch", body, user=cast.engineer).status_code == 200
    metrics = {
        m["key"]: m["value"]
        for m in mlflow_get(client, "runs/get", {"run_id": run.uuid}, user=cast.engineer).json()["run"]["data"][
            "metrics"
        ]
    }
    assert metrics == {"a": "NaN", "b": "Infinity", "c": "-Infinity"}


def test_history_pages(client, cast, run):
    mlflow_post(client, "runs/log-batch", {"run_id": run.uuid, "metrics": _metrics(5)}, user=cast.engineer)
    first = mlflow_get(
        client, "metrics/get-history", {"run_id": run.uuid, "metric_key": "m", "max_results": 3}, user=cast.engineer
    ).json()
    assert [m["step"] for m in first["metrics"]] == [0, 1, 2]
    second = mlflow_get(
        client,
        "metrics/get-history",
        {"run_id": run.uuid, "metric_key": "m", "max_results": 3, "page_token": first["next_page_token"]},
        user=cast.engineer,
    ).json()
    assert [m["step"] for m in second["metrics"]] == [3, 4]
    assert "next_page_token" not in second


@pytest.mark.parametrize(
    "bad", ["metrics.auc >", "metrics.auc > 'x'", "params.lr > 1", "nonsense = 'x'", "metrics.a > 1 OR metrics.b > 1"]
)
def test_bad_search_filter_is_a_clear_400(client, cast, bad):
    response = mlflow_post(
        client, "runs/search", {"experiment_ids": [str(cast.project.pk)], "filter": bad}, user=cast.engineer
    )
    assert "Invalid search" in _error(response, 400, "INVALID_PARAMETER_VALUE")


def test_search_constant_queries(client, cast, django_assert_num_queries):
    runs = [RunFactory(project=cast.project, started_by=cast.engineer) for _ in range(5)]
    for r in runs:
        Param.objects.create(run=r, key="lr", value="1")
        Tag.objects.create(run=r, key="t", value="x")
    user = cast.engineer
    mlflow_post(client, "runs/search", {"experiment_ids": [str(cast.project.pk)]}, user=user)  # creates the token
    # token + user, membership (with its project) of the experiment id, runs page, latest metrics, params, tags,
    # datasets, model inputs and outputs
    with django_assert_num_queries(8):
        response = mlflow_post(
            client, "runs/search", {"experiment_ids": [str(cast.project.pk)]}, user=None, token=user.auth_token.key
        )
    assert len(response.json()["runs"]) == 5


def test_log_metric_query_count(client, cast, run, django_assert_num_queries):
    token = Token.objects.create(user=cast.engineer).key
    body = {"run_id": run.uuid, "key": "loss", "value": 0.5, "timestamp": 1, "step": 1}
    # token + user, run + project, membership, savepoint (BEGIN outside tests), insert points,
    # upsert latest, the project's tracking version (the run list's cache key), release (COMMIT outside tests)
    with django_assert_num_queries(8):
        assert mlflow_post(client, "runs/log-metric", body, token=token).status_code == 200


# --- Artifacts ----------------------------------------------------------------------------
def _artifact_url(run, path: str) -> str:
    return f"/mlflow/api/2.0/mlflow-artifacts/artifacts/{run.project_id}/{run.uuid}/artifacts/{path}"


def _auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {Token.objects.get_or_create(user=user)[0].key}"}


def test_artifact_upload_list_download(client, cast, run, media):
    response = client.put(
        _artifact_url(run, "model/weights.bin"),
        b"\x00\x01abc",
        content_type="application/octet-stream",
        **_auth(cast.engineer),
    )
    assert response.status_code == 200
    listing = client.get(
        "/mlflow/api/2.0/mlflow-artifacts/artifacts",
        {"path": f"{run.project_id}/{run.uuid}/artifacts"},
        **_auth(cast.stakeholder),
    ).json()
    assert listing == {"files": [{"path": "model", "is_dir": True}]}
    download = client.get(_artifact_url(run, "model/weights.bin"), **_auth(cast.stakeholder))
    assert b"".join(download.streaming_content) == b"\x00\x01abc"


def test_artifact_roles(client, cast, run, media):
    for who, status in [("stakeholder", 403), ("outsider", 404)]:
        response = client.put(_artifact_url(run, "a.txt"), b"x", content_type="text/plain", **_auth(cast.user(who)))
        assert response.status_code == status
        assert response.json()["error_code"] in ("PERMISSION_DENIED", "RESOURCE_DOES_NOT_EXIST")
    assert client.put(_artifact_url(run, "a.txt"), b"x", content_type="text/plain").status_code == 401
    assert not Artifact.objects.exists()
    assert client.get(_artifact_url(run, "a.txt"), **_auth(cast.outsider)).status_code == 404


def test_oversized_artifact_is_refused_and_leaves_nothing(client, cast, run, media, settings):
    settings.ARTIFACT_MAX_BYTES = 1024
    response = client.put(
        _artifact_url(run, "big.bin"), b"x" * 2048, content_type="application/octet-stream", **_auth(cast.engineer)
    )
    assert response.status_code == 413
    assert "ARTIFACT_MAX_BYTES" in response.json()["message"]
    assert not Artifact.objects.exists()
    assert not list((media / "artifacts").rglob("*.bin")) if (media / "artifacts").exists() else True


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../b", "a//b"])
def test_artifact_paths_cannot_escape(client, cast, run, media, path):
    response = client.put(_artifact_url(run, path), b"x", content_type="text/plain", **_auth(cast.engineer))
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not Artifact.objects.exists()


@pytest.mark.parametrize(
    ("first", "second", "named"),
    [("conf", "conf/child", "conf"), ("conf/child", "conf", "conf"), ("a/b", "a/b/c/d", "a/b")],
)
def test_an_artifact_path_that_clashes_with_a_file_or_folder_is_a_400_naming_it(
    client, cast, run, media, first, second, named
):
    put = lambda path: client.put(_artifact_url(run, path), b"x", content_type="text/plain", **_auth(cast.engineer))  # noqa: E731
    assert put(first).status_code == 200
    response = put(second)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert repr(named) in response.json()["message"]
    assert list(Artifact.objects.values_list("path", flat=True)) == [first]


@pytest.mark.parametrize("digits", ["³", "٣", "١٢"])
def test_unicode_digits_in_mlflow_ids_and_numbers_are_a_400_or_404(client, cast, run, digits):
    auth = _auth(cast.engineer)
    asked = [
        client.get("/mlflow/api/2.0/mlflow/runs/get", {"run_id": digits}, **auth),
        client.get("/mlflow/api/2.0/mlflow/experiments/get", {"experiment_id": digits}, **auth),
        client.get(
            "/mlflow/api/2.0/mlflow/metrics/get-history",
            {"run_id": run.uuid, "metric_key": "m", "max_results": digits},
            **auth,
        ),
        client.post(
            "/mlflow/api/2.0/mlflow/runs/search", {"experiment_ids": [digits]}, content_type="application/json", **auth
        ),
        client.post(
            "/mlflow/api/2.0/mlflow/runs/create", {"experiment_id": digits}, content_type="application/json", **auth
        ),
        client.post(
            "/mlflow/api/2.0/mlflow/runs/log-metric",
            {"run_id": run.uuid, "key": "m", "value": 1, "timestamp": 1, "step": digits},
            content_type="application/json",
            **auth,
        ),
    ]
    assert [r.status_code for r in asked] == [404, 404, 400, 404, 404, 400], [r.content for r in asked]


def test_server_info_says_no_multipart(client):
    assert client.get("/mlflow/api/3.0/mlflow/server-info").json()["multipart_uploads_enabled"] is False


def test_the_mlflow_ui_prefix_ajax_api_answers_the_same(client, cast, run):
    response = client.get("/mlflow/ajax-api/2.0/mlflow/runs/get", {"run_id": run.uuid}, **_auth(cast.stakeholder))
    assert response.status_code == 200
    assert response.json()["run"]["info"]["run_id"] == run.uuid


def test_runs_appear_in_the_project_navigation(web, cast):
    response = web(cast.stakeholder).get("/p/AUTH/")
    assert b'href="/p/AUTH/runs/"' in response.content
