"""Experiments inside projects (the project-scoped tracking URI), soft delete and restore of runs and
experiments, long params and traces, with the stock MLflow client against a live AgileML server."""

from __future__ import annotations

import logging

import pytest
from mlflow.exceptions import MlflowException

from experiments.models import Experiment, Param, Run, Tag
from tests.factories import TicketFactory
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scoped(mlflow_as, live_server, monkeypatch):
    """``scoped(user, key)`` → the ``mlflow`` module logging to ``/mlflow/<key>`` as ``user``."""

    def as_user(user, key="AUTH"):
        mlflow = mlflow_as(user)
        uri = f"{live_server.url}/mlflow/{key}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        return mlflow

    return as_user


def test_an_unchanged_script_names_its_own_experiment_inside_the_project(scoped, cast):
    mlflow = scoped(cast.engineer)
    experiment = mlflow.set_experiment("churn-v2")
    with mlflow.start_run() as active:
        mlflow.log_metric("auc", 0.8)
    stored = Experiment.objects.get(project=cast.project, name="churn-v2")
    assert experiment.experiment_id == stored.mlflow_id == f"{cast.project.pk}-{stored.pk}"
    run = Run.objects.get(uuid=active.info.run_id)
    assert (run.project, run.experiment) == (cast.project, stored)
    # The same name again is the same experiment; the script's search finds its run there.
    assert mlflow.set_experiment("churn-v2").experiment_id == stored.mlflow_id
    found = mlflow.search_runs(experiment_names=["churn-v2"], output_format="list")
    assert [r.info.run_id for r in found] == [run.uuid]
    # The project's own experiment does not list the named experiment's runs.
    assert mlflow.search_runs(experiment_ids=[str(cast.project.pk)], output_format="list") == []
    # Through the plain URI the same experiment is KEY/name.
    plain = mlflow_uri_plain(mlflow, cast)
    assert plain.get_experiment(stored.mlflow_id).name == "AUTH/churn-v2"


def mlflow_uri_plain(mlflow, cast):
    uri = mlflow.get_tracking_uri().rsplit("/", 1)[0]
    return mlflow.MlflowClient(tracking_uri=uri)


def test_stakeholders_read_but_cannot_create_experiments_and_outsiders_see_nothing(scoped, cast):
    mlflow = scoped(cast.engineer)
    mlflow.set_experiment("churn-v2")
    reader = scoped(cast.stakeholder)
    assert reader.MlflowClient().get_experiment_by_name("churn-v2") is not None
    with pytest.raises(MlflowException) as error:
        reader.set_experiment("stakeholder-idea")
    assert error.value.get_http_status_code() == 403
    outsider = scoped(cast.outsider)
    with pytest.raises(MlflowException) as error:
        outsider.set_experiment("churn-v2")
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # An outsider is told the same about a project that does not exist.
    nobody = scoped(cast.outsider, key="NOPE")
    with pytest.raises(MlflowException) as missing:
        nobody.set_experiment("churn-v2")
    assert missing.value.message == error.value.message
    assert not Experiment.objects.filter(name="stakeholder-idea").exists()


def test_soft_delete_and_restore_by_the_author_recorded_on_the_ticket(mlflow_as, cast):
    ticket = TicketFactory(project=cast.project)
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    client = mlflow.MlflowClient()
    with mlflow.start_run(tags={"agileml.ticket": ticket.key}) as kept:
        pass
    with mlflow.start_run(tags={"agileml.ticket": ticket.key}) as dropped:
        pass
    client.delete_run(dropped.info.run_id)
    assert Run.objects.get(uuid=dropped.info.run_id).deleted_at is not None
    assert client.get_run(dropped.info.run_id).info.lifecycle_stage == "deleted"

    def ids(view):
        return {r.info.run_id for r in client.search_runs([str(cast.project.pk)], run_view_type=view)}

    from mlflow.entities import ViewType

    assert ids(ViewType.ACTIVE_ONLY) == {kept.info.run_id}
    assert ids(ViewType.DELETED_ONLY) == {dropped.info.run_id}
    assert ids(ViewType.ALL) == {kept.info.run_id, dropped.info.run_id}
    with pytest.raises(MlflowException, match="deleted"):
        client.log_metric(dropped.info.run_id, "loss", 1.0)

    client.restore_run(dropped.info.run_id)
    assert ids(ViewType.DELETED_ONLY) == set()
    notes = list(TicketEvent.objects.filter(ticket=ticket, field="run").exclude(note="").values_list("note", "actor"))
    assert notes == [("deleted", cast.engineer.pk), ("restored", cast.engineer.pk)]


def test_only_a_lead_or_the_author_may_delete_a_run(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    with mlflow.start_run() as active:
        pass
    run_id = active.info.run_id
    for user, allowed in ((cast.stakeholder, False), (cast.lead, True)):
        client = mlflow_as(user).MlflowClient()
        if allowed:
            client.delete_run(run_id)
            client.restore_run(run_id)
        else:
            with pytest.raises(MlflowException) as error:
                client.delete_run(run_id)
            assert error.value.get_http_status_code() == 403
    from tests.factories import MembershipFactory, UserFactory

    other = MembershipFactory(project=cast.project, role="engineer", user=UserFactory(username="other")).user
    with pytest.raises(MlflowException) as error:
        mlflow_as(other).MlflowClient().delete_run(run_id)
    assert "lead" in error.value.message and error.value.get_http_status_code() == 403
    with pytest.raises(MlflowException) as error:
        mlflow_as(cast.outsider).MlflowClient().delete_run(run_id)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert Run.objects.get(uuid=run_id).deleted_at is None


def test_a_lead_deletes_and_restores_a_named_experiment(scoped, cast):
    mlflow = scoped(cast.engineer)
    experiment_id = mlflow.set_experiment("churn-v2").experiment_id
    with pytest.raises(MlflowException) as error:
        mlflow.MlflowClient().delete_experiment(experiment_id)
    assert error.value.get_http_status_code() == 403
    lead = scoped(cast.lead).MlflowClient()
    lead.delete_experiment(experiment_id)
    assert lead.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert [e.name for e in lead.search_experiments()] == ["AUTH"]
    lead.restore_experiment(experiment_id)
    assert sorted(e.name for e in lead.search_experiments()) == ["AUTH", "churn-v2"]


def test_a_param_longer_than_mlflow_keeps_is_cut_and_the_run_says_so(mlflow_as, cast):
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")
    client = mlflow.MlflowClient()
    from mlflow.entities import Param as MlflowParam

    with mlflow.start_run() as active:
        # The client cuts long values itself; a REST caller that does not is cut by the server.
        client._tracking_client.store.log_batch(active.info.run_id, [], [MlflowParam("vocab", "x" * 7000)], [])
    assert Param.objects.get(run__uuid=active.info.run_id, key="vocab").value == "x" * 6000
    assert Tag.objects.get(run__uuid=active.info.run_id, key="agileml.truncated_params").value == "vocab"


def test_traced_functions_still_run_and_are_refused_with_one_clear_message(mlflow_as, cast, caplog):
    mlflow = mlflow_as(cast.engineer)
    mlflow.set_experiment("AUTH")

    @mlflow.trace
    def add(a, b):
        return a + b

    with caplog.at_level(logging.WARNING):
        assert add(2, 3) == 5
        mlflow.flush_trace_async_logging(terminate=False) if hasattr(mlflow, "flush_trace_async_logging") else None
    messages = [r.getMessage() for r in caplog.records if "AgileML does not store traces" in r.getMessage()]
    assert len(messages) == 1, [r.getMessage()[:300] for r in caplog.records]


def test_the_runs_page_filters_by_experiment_and_hides_deleted_runs(cast, client):
    from experiments.tracking import services
    from tests.experiments.factories import RunFactory

    churn = services.experiment_create(project=cast.project, name="churn-v2", user=cast.engineer)
    named = RunFactory(project=cast.project, experiment=churn, name="in-churn", started_by=cast.engineer)
    own = RunFactory(project=cast.project, name="in-project", started_by=cast.engineer)
    gone = RunFactory(project=cast.project, name="deleted-one", started_by=cast.engineer)
    services.run_delete(run=gone, actor=cast.engineer)
    client.force_login(cast.stakeholder)

    def names(query: str) -> set[str]:
        page = client.get(f"/p/AUTH/runs/{query}").content.decode()
        return {r.name for r in (named, own, gone) if f">{r.name}<" in page}

    assert names("") == {"in-churn", "in-project"}
    assert names(f"?experiment={churn.pk}") == {"in-churn"}
    assert names("?experiment=0") == {"in-project"}
    assert 'data-testid="experiment-filter"' in client.get("/p/AUTH/runs/").content.decode()
