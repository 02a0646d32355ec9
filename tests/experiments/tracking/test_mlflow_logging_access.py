"""The MLflow logging calls' remembered access (experiments/tracking/access_memo.py) and their short
lane through the middleware (experiments/tracking/middleware.py): fewer queries per call, and every
change of access refused on the very next call."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts import services as account_services
from experiments.models import Metric, Param, Run, Tag
from experiments.tracking import access_memo
from tests.experiments.conftest import mlflow_post
from tests.experiments.factories import RunFactory
from tests.factories import TicketFactory
from tickets.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_memo():
    access_memo.forget_all()
    yield
    access_memo.forget_all()


@pytest.fixture
def run(cast):
    return RunFactory(project=cast.project, started_by=cast.engineer)


@pytest.fixture
def token(cast):
    return Token.objects.create(user=cast.engineer).key


def _log(client, run, token, step: int, path: str = "/mlflow/api/2.0/mlflow/runs/log-metric"):
    body = {"run_id": run.uuid, "key": "loss", "value": 1.0 / (step + 1), "timestamp": step, "step": step}
    return client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_repeated_log_metric_costs_one_read_and_the_write(client, run, token, django_assert_num_queries):
    assert _log(client, run, token, 0).status_code == 200
    # the access fingerprint (token, user, membership, run in one query), savepoint (BEGIN outside
    # tests), insert the point, upsert the latest value, the project's tracking version (the run list's
    # cache key), release (COMMIT outside tests)
    with django_assert_num_queries(6):
        assert _log(client, run, token, 1).status_code == 200
    assert Metric.objects.filter(run=run, key="loss").count() == 2


def test_log_batch_and_log_parameter_are_remembered_too(client, run, token, django_assert_num_queries):
    metrics = [{"key": "acc", "value": 0.5, "timestamp": 1, "step": s} for s in range(3)]
    for body in ({"metrics": metrics}, {"metrics": metrics, "params": [{"key": "lr", "value": "0.1"}]}):
        assert mlflow_post(client, "runs/log-batch", {"run_id": run.uuid, **body}, token=token).status_code == 200
    with django_assert_num_queries(6):
        assert mlflow_post(client, "runs/log-batch", {"run_id": run.uuid, "metrics": metrics}, token=token).json() == {}
    # fingerprint, savepoint, insert the new params (no read unless a key was there), tracking version, release
    with django_assert_num_queries(5):
        response = mlflow_post(
            client, "runs/log-parameter", {"run_id": run.uuid, "key": "seed", "value": 1}, token=token
        )
        assert response.status_code == 200
    assert dict(Param.objects.filter(run=run).values_list("key", "value")) == {"lr": "0.1", "seed": "1"}


def test_a_batch_with_tags_takes_the_full_path(client, cast, run, token):
    ticket = TicketFactory(project=cast.project)
    assert _log(client, run, token, 0).status_code == 200
    body = {"run_id": run.uuid, "tags": [{"key": "agileml.ticket", "value": ticket.key}, {"key": "t", "value": "v"}]}
    assert mlflow_post(client, "runs/log-batch", body, token=token).status_code == 200
    run.refresh_from_db()
    assert run.ticket_id == ticket.pk
    assert Tag.objects.get(run=run, key="t").value == "v"


def test_a_revoked_token_is_refused_on_the_next_call(client, cast, run, token):
    assert _log(client, run, token, 0).status_code == 200
    assert _log(client, run, token, 1).status_code == 200
    account_services.legacy_token_revoke(user=cast.engineer)
    response = _log(client, run, token, 2)
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    assert Metric.objects.filter(run=run).count() == 2


def test_a_revoked_named_token_is_refused_on_the_next_call(client, cast, run):
    row, key = account_services.api_token_create(user=cast.engineer, name="laptop")
    assert _log(client, run, key, 0).status_code == 200
    assert _log(client, run, key, 1).status_code == 200
    account_services.api_token_revoke(token=row)
    assert _log(client, run, key, 2).status_code == 401
    assert Metric.objects.filter(run=run).count() == 2


def test_a_named_tokens_last_use_is_still_noted(client, cast, run):
    row, key = account_services.api_token_create(user=cast.engineer, name="laptop")
    assert _log(client, run, key, 0).status_code == 200
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None
    # An hour later (as if): the next call writes the last use again.
    type(row).objects.filter(pk=row.pk).update(last_used_at=first - timezone.timedelta(hours=1))
    access_memo.forget_all()
    assert _log(client, run, key, 1).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at > first - timezone.timedelta(hours=1)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("removed", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("stakeholder", 403, "PERMISSION_DENIED"),
        ("lead", 200, None),
    ],
)
def test_a_changed_membership_is_decided_again_on_the_next_call(client, cast, run, token, change, status, code):
    assert _log(client, run, token, 0).status_code == 200
    assert _log(client, run, token, 1).status_code == 200
    membership = Membership.objects.get(project=cast.project, user=cast.engineer)
    if change == "removed":
        membership.delete()
    else:
        Membership.objects.filter(pk=membership.pk).update(role=change)
    response = _log(client, run, token, 2)
    assert response.status_code == status
    if code:
        assert response.json()["error_code"] == code
    assert Metric.objects.filter(run=run).count() == (3 if status == 200 else 2)


def test_a_deactivated_user_is_refused(client, cast, run, token):
    assert _log(client, run, token, 0).status_code == 200
    get_user_model().objects.filter(pk=cast.engineer.pk).update(is_active=False)
    assert _log(client, run, token, 1).status_code == 401


def test_a_deleted_run_refuses_writes_on_the_next_call(client, cast, run, token):
    assert _log(client, run, token, 0).status_code == 200
    Run.objects.filter(pk=run.pk).update(deleted_at=timezone.now())
    response = _log(client, run, token, 1)
    assert response.status_code == 400
    assert "deleted" in response.json()["message"]


def test_an_outsider_never_gets_a_remembered_answer(client, cast, run, token):
    outsider_token = Token.objects.create(user=cast.outsider).key
    assert _log(client, run, token, 0).status_code == 200
    for step in (1, 2):
        response = _log(client, run, outsider_token, step)
        assert response.status_code == 404
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert Metric.objects.filter(run=run).count() == 1


def test_the_project_scoped_uri_checks_the_scope_on_every_call(client, cast, run, token):
    scoped = "/mlflow/AUTH/api/2.0/mlflow/runs/log-metric"
    assert _log(client, run, token, 0, scoped).status_code == 200
    assert _log(client, run, token, 1, scoped).status_code == 200
    Membership.objects.filter(project=cast.project, user=cast.engineer).delete()
    assert _log(client, run, token, 2, scoped).status_code == 404
    # A project the caller is not in, named in the URI: the outsiders' answer, before anything else.
    assert _log(client, run, token, 3, "/mlflow/OTHER/api/2.0/mlflow/runs/log-metric").status_code == 404
    assert Metric.objects.filter(run=run).count() == 2


def test_the_short_lane_answers_errors_as_the_full_path(client, run, token):
    path = "/mlflow/api/2.0/mlflow/runs/log-metric"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.post(path, "{", content_type="application/json", **headers).json()["error_code"] == (
        "MALFORMED_REQUEST"
    )
    assert client.post(path, {"run_id": run.uuid}, content_type="application/json").status_code == 401
    response = client.post(path, {"run_id": run.uuid, "key": "k"}, content_type="application/json", **headers)
    assert response.status_code == 400
    assert "'value'" in response.json()["message"]
    assert client.get(path, **headers).status_code == 405


def test_the_short_lane_skips_page_headers_but_not_https(client, run, token, settings):
    response = _log(client, run, token, 0)
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_the_short_lane_still_redirects_to_https(client, run, token, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert _log(client, run, token, 0).status_code == 301
