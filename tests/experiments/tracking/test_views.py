"""Run pages: list, detail, compare, the ticket's runs panel and the MLflow links."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from experiments.models import Artifact, Param, Run
from experiments.tracking.services import artifact_save
from tests.experiments.factories import RunFactory, log_history
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

PAGE_READ = [("outsider", 404), ("stakeholder", 200), ("engineer", 200), ("lead", 200)]
PAGE_WRITE = [("outsider", 404), ("stakeholder", 403)]


@pytest.fixture
def run(cast):
    run = RunFactory(project=cast.project, started_by=cast.engineer, name="baseline")
    Param.objects.create(run=run, key="lr", value="0.1")
    log_history(run, "loss", [0.9, 0.5, 0.3])
    return run


def test_anonymous_users_are_sent_to_login(web, cast, run):
    for url in ("/p/AUTH/runs/", f"/p/AUTH/runs/{run.pk}/", "/t/AUTH-1/runs/", f"/mlflow/runs/{run.uuid}/"):
        response = web(None).get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


# --- List -----------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), PAGE_READ)
def test_run_list_role_matrix(web, cast, run, who, status):
    response = web(cast.user(who)).get("/p/AUTH/runs/")
    assert response.status_code == status
    if status == 200:
        assert b"baseline" in response.content
        assert response.context["project"].role == who


def test_run_list_shows_chosen_metric_and_param_columns(web, cast, run):
    log_history(run, "auc", [0.8])
    client = web(cast.engineer)
    default = client.get("/p/AUTH/runs/")
    assert default.context["metric_columns"] == ["auc", "loss"]
    chosen = client.get("/p/AUTH/runs/?columns=1&m=loss&p=lr&p=unknown")
    assert chosen.context["metric_columns"] == ["loss"]
    assert chosen.context["param_columns"] == ["lr"]
    (row,) = chosen.context["runs"]
    assert row.metric_cells[0].value == 0.3
    assert row.param_cells == ["0.1"]


def test_run_list_sorts_by_metric_with_missing_values_last(web, cast):
    values = {"a": 0.5, "b": 0.9, "c": None, "d": 0.1}
    for name, value in values.items():
        run = RunFactory(project=cast.project, name=name)
        if value is not None:
            log_history(run, "auc", [value])
    client = web(cast.engineer)
    names = lambda r: [x.name for x in r.context["runs"]]  # noqa: E731
    assert names(client.get("/p/AUTH/runs/?sort=-metric:auc")) == ["b", "a", "d", "c"]
    assert names(client.get("/p/AUTH/runs/?sort=metric:auc")) == ["d", "a", "b", "c"]
    assert names(client.get("/p/AUTH/runs/?sort=name")) == ["a", "b", "c", "d"]


def test_run_list_filters(web, cast, run):
    ticket = TicketFactory(project=cast.project)
    failed = RunFactory(project=cast.project, ticket=ticket, status="failed", started_by=cast.lead, name="attached")
    client = web(cast.engineer)
    names = lambda q: {r.name for r in client.get(f"/p/AUTH/runs/?{q}").context["runs"]}  # noqa: E731
    assert names(f"ticket={ticket.key}") == {"attached"}
    assert names(f"ticket={ticket.key.lower()}") == {"attached"}
    assert names("ticket=none") == {"baseline"}
    assert names("status=failed") == {"attached"}
    assert names("user=engineer") == {"baseline"}
    assert failed.pk
    bad = client.get("/p/AUTH/runs/?ticket=AUTH-999")
    assert bad.status_code == 400
    assert b"There is no ticket AUTH-999" in bad.content
    assert list(bad.context["runs"]) == []


def test_run_list_htmx_returns_only_the_table(web, cast, run):
    response = web(cast.engineer).get("/p/AUTH/runs/?status=finished", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'id="run-table"' in response.content
    assert b"<html" not in response.content


def test_run_list_paginates(web, cast):
    for _ in range(55):
        RunFactory(project=cast.project)
    client = web(cast.engineer)
    assert len(client.get("/p/AUTH/runs/").context["runs"]) == 50
    assert len(client.get("/p/AUTH/runs/?page=2").context["runs"]) == 5


def test_run_list_query_count_is_constant(web, cast, django_assert_num_queries):
    ticket = TicketFactory(project=cast.project)
    for i in range(30):
        run = RunFactory(project=cast.project, ticket=ticket if i % 3 else None, started_by=cast.engineer)
        Param.objects.create(run=run, key="lr", value=str(i))
        log_history(run, "loss", [1.0, 0.5])
        log_history(run, "auc", [0.6, 0.7])
    client = web(cast.engineer)
    client.get("/p/AUTH/runs/")
    # session, user, the user's memberships with projects (access; they fill the switcher too), metric
    # keys, param keys, count, runs page (ticket and starter joined, sorted by a metric), latest metrics
    # of the page, params of the page, members (filter menu), the project's experiments (filter menu).
    # No ticket menu: the ticket filter asks the autocomplete endpoint as the user types.
    with django_assert_num_queries(11):
        response = client.get("/p/AUTH/runs/?columns=1&m=loss&m=auc&p=lr&sort=-metric:auc")
    assert len(response.context["runs"]) == 30


def _older_runs_on_many_tickets(project, count: int) -> None:
    """``count`` tickets, each with a run older than any shown on the first page."""
    long_ago = timezone.now() - dt.timedelta(days=3650)
    for n in range(count):
        ticket = TicketFactory(project=project, title=f"A question with a rather long title, number {n}")
        RunFactory(project=project, ticket=ticket, start_time=long_ago)


def test_the_run_list_does_not_grow_with_the_project_s_tickets(web, cast):
    """The ticket filter is a picker that asks as you type: no option per ticket in the page."""
    ticket = TicketFactory(project=cast.project, title="Shown")
    for _ in range(51):  # a full first page, and a pager, before and after
        RunFactory(project=cast.project, ticket=ticket, started_by=cast.engineer)
    client = web(cast.engineer)
    before = client.get("/p/AUTH/runs/").content
    _older_runs_on_many_tickets(cast.project, 80)
    after = client.get("/p/AUTH/runs/").content
    assert b"<option" not in after.split(b'id="f-status"')[0].split(b'id="run-filters"')[1]
    assert b"rather long title" not in after
    # Only the run count in the header grows ("51 runs" → "131 runs").
    assert len(after) - len(before) <= 10, len(after) - len(before)


def test_the_run_list_s_ticket_picker_shows_the_current_filter(web, cast, run):
    ticket = TicketFactory(project=cast.project, title="Beat the baseline")
    client = web(cast.engineer)
    page = client.get(f"/p/AUTH/runs/?ticket={ticket.key.lower()}").content.decode()
    assert f'name="ticket" value="{ticket.key.lower()}"' in page
    assert f'value="{ticket.key} · Beat the baseline"' in page
    assert 'role="combobox"' in page and 'data-picker-url="/api/v1/projects/AUTH/autocomplete/tickets/"' in page
    assert 'value="Not attached"' in client.get("/p/AUTH/runs/?ticket=none").content.decode()


# --- Detail ---------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), PAGE_READ)
def test_run_detail_role_matrix(web, cast, run, who, status):
    response = web(cast.user(who)).get(f"/p/AUTH/runs/{run.pk}/")
    assert response.status_code == status
    if status == 200:
        (figure,) = response.context["figures"]
        assert figure["key"] == "loss"
        assert figure["figure"]["data"][0]["y"] == [0.9, 0.5, 0.3]
        assert response.context["params"] == {"lr": "0.1"}
        assert (b'name="ticket"' in response.content) == (who != "stakeholder")


def test_run_detail_under_another_project_is_404(web, cast, run):
    other = cast.outsider.memberships.get().project
    other_run = RunFactory(project=other)
    assert web(cast.engineer).get(f"/p/AUTH/runs/{other_run.pk}/").status_code == 404
    assert web(cast.outsider).get(f"/p/OTHER/runs/{run.pk}/").status_code == 404


def test_long_history_is_drawn_from_a_sample(web, cast, run):
    log_history(run, "long", [float(i % 97) for i in range(20_000)])
    response = web(cast.engineer).get(f"/p/AUTH/runs/{run.pk}/")
    figure = next(f for f in response.context["figures"] if f["key"] == "long")
    assert figure["points"] == 20_000
    ys = figure["figure"]["data"][0]["y"]
    assert len(ys) <= 2002
    assert (min(ys), max(ys)) == (0.0, 96.0)


def test_attach_and_detach_from_the_run_page(web, cast, run):
    ticket = TicketFactory(project=cast.project)
    client = web(cast.engineer)
    response = client.post(f"/p/AUTH/runs/{run.pk}/ticket/", {"ticket": ticket.key.lower()}, follow=True)
    assert f"is attached to {ticket.key}".encode() in response.content
    run.refresh_from_db()
    assert run.ticket == ticket
    client.post(f"/p/AUTH/runs/{run.pk}/ticket/", {"ticket": ""})
    run.refresh_from_db()
    assert run.ticket is None


def test_attaching_an_unknown_ticket_explains_and_changes_nothing(web, cast, run):
    response = web(cast.engineer).post(f"/p/AUTH/runs/{run.pk}/ticket/", {"ticket": "AUTH-77"}, follow=True)
    assert b"There is no ticket AUTH-77 in project AUTH." in response.content
    run.refresh_from_db()
    assert run.ticket is None


def test_the_run_page_does_not_grow_with_the_project_s_tickets(web, cast, run):
    client = web(cast.engineer)
    before = client.get(f"/p/AUTH/runs/{run.pk}/").content
    _older_runs_on_many_tickets(cast.project, 40)
    after = client.get(f"/p/AUTH/runs/{run.pk}/").content
    assert len(after) == len(before)
    assert b"<datalist" not in after and b"rather long title" not in after


@pytest.mark.parametrize(("who", "status"), PAGE_WRITE)
def test_attach_and_notes_role_matrix(web, cast, run, who, status):
    ticket = TicketFactory(project=cast.project)
    client = web(cast.user(who))
    assert client.post(f"/p/AUTH/runs/{run.pk}/ticket/", {"ticket": ticket.key}).status_code == status
    assert client.post(f"/p/AUTH/runs/{run.pk}/notes/", {"notes": "hi"}).status_code == status
    run.refresh_from_db()
    assert (run.ticket, run.notes) == (None, "")


def test_notes_are_saved(web, cast, run):
    web(cast.lead).post(f"/p/AUTH/runs/{run.pk}/notes/", {"notes": "Overfits after epoch 3."})
    run.refresh_from_db()
    assert run.notes == "Overfits after epoch 3."


def test_artifact_download_from_the_page(web, cast, run, media):
    import io

    artifact_save(run=run, path="plots/roc.csv", stream=io.BytesIO(b"fpr,tpr\n"))
    response = web(cast.stakeholder).get(f"/p/AUTH/runs/{run.pk}/artifacts/plots/roc.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"fpr,tpr\n"
    assert 'filename="roc.csv"' in response["Content-Disposition"]
    assert web(cast.stakeholder).get(f"/p/AUTH/runs/{run.pk}/artifacts/nope.txt").status_code == 404
    assert web(cast.outsider).get(f"/p/AUTH/runs/{run.pk}/artifacts/plots/roc.csv").status_code == 404
    assert Artifact.objects.count() == 1


# --- Compare ----------------------------------------------------------------------------
def test_compare_highlights_param_differences_and_overlays_histories(web, cast, run):
    other = RunFactory(project=cast.project, name="challenger")
    Param.objects.create(run=other, key="lr", value="0.01")
    Param.objects.create(run=other, key="epochs", value="5")
    Param.objects.create(run=run, key="seed", value="1")
    Param.objects.create(run=other, key="seed", value="1")
    log_history(other, "loss", [0.8, 0.2])
    response = web(cast.stakeholder).get(f"/p/AUTH/runs/compare/?runs={run.pk}&runs={other.pk}")
    assert response.status_code == 200
    rows = {r["key"]: r for r in response.context["param_rows"]}
    assert rows["lr"]["differs"] and rows["epochs"]["differs"] and not rows["seed"]["differs"]
    assert rows["lr"]["values"] == ["0.1", "0.01"]
    (figure,) = response.context["figures"]
    assert [trace["y"] for trace in figure["figure"]["data"]] == [[0.9, 0.5, 0.3], [0.8, 0.2]]
    (metric,) = response.context["metric_rows"]
    assert (metric["low"], metric["high"]) == (0.2, 0.3)
    assert b'data-differs="1"' in response.content


def test_compare_bolds_the_best_value_by_the_metrics_direction(web, cast, run):
    other = RunFactory(project=cast.project, name="challenger")
    for target, loss, accuracy, epoch in ((run, 0.30, 0.81, 3), (other, 0.25, 0.79, 5)):
        log_history(target, "val_loss", [loss])
        log_history(target, "accuracy", [accuracy])
        log_history(target, "epoch", [epoch])
    response = web(cast.stakeholder).get(f"/p/AUTH/runs/compare/?runs={run.pk}&runs={other.pk}")
    rows = {r["key"]: r for r in response.context["metric_rows"]}
    assert rows["val_loss"]["best"] == 0.25 and rows["val_loss"]["direction"] == "lower"
    assert rows["accuracy"]["best"] == 0.81 and rows["accuracy"]["direction"] == "higher"
    assert rows["epoch"]["best"] is None  # no known direction: nothing is called best
    page = response.content.decode()
    rows_html = re.findall(r'<tr data-metric="([^"]+)">(.*?)</tr>', page, re.S)
    bold = {key: re.findall(r'metric-best">([^<]+)</td>', html) for key, html in rows_html}
    found = {key: [float(v) for v in values] for key, values in bold.items()}
    assert (found["accuracy"], found["epoch"], found["val_loss"]) == ([0.81], [], [0.25])


@pytest.mark.parametrize("count", [1, 11])
def test_compare_needs_two_to_ten_runs(web, cast, count):
    runs = [RunFactory(project=cast.project) for _ in range(count)]
    query = "&".join(f"runs={r.pk}" for r in runs)
    response = web(cast.engineer).get(f"/p/AUTH/runs/compare/?{query}")
    assert response.status_code == 400
    assert b"Pick between 2 and 10 runs" in response.content


def test_compare_refuses_runs_of_other_projects(web, cast, run):
    foreign = RunFactory(project=cast.outsider.memberships.get().project)
    assert web(cast.engineer).get(f"/p/AUTH/runs/compare/?runs={run.pk}&runs={foreign.pk}").status_code == 404
    assert web(cast.outsider).get(f"/p/AUTH/runs/compare/?runs={run.pk}&runs={run.pk}").status_code == 404


# --- The ticket's runs panel ------------------------------------------------------------
@pytest.fixture
def ticket(cast):
    return TicketFactory(project=cast.project, title="Try SGD")


@pytest.mark.parametrize(("who", "status"), PAGE_READ)
def test_ticket_runs_fragment_role_matrix(web, cast, run, ticket, who, status):
    run.ticket = ticket
    run.save()
    response = web(cast.user(who)).get(f"/t/{ticket.key}/runs/", HTTP_HX_REQUEST="true")
    assert response.status_code == status
    if status == 200:
        assert b"<html" not in response.content
        assert [r.pk for r in response.context["runs"]] == [run.pk]
        assert response.context["key_metrics"] == ["loss"]
        assert b"0.3" in response.content
        assert (b"Attach" in response.content) == (who != "stakeholder")


def test_ticket_runs_page_without_htmx_is_a_full_page(web, cast, ticket):
    response = web(cast.engineer).get(f"/t/{ticket.key}/runs/")
    assert response.status_code == 200
    assert b"<html" in response.content and b"No runs attached yet" in response.content


def test_attach_and_detach_from_the_ticket_panel(web, cast, run, ticket):
    client = web(cast.engineer)
    response = client.post(f"/t/{ticket.key}/runs/attach/", {"run": run.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert [r.pk for r in response.context["runs"]] == [run.pk]
    run.refresh_from_db()
    assert run.ticket == ticket
    response = client.post(f"/t/{ticket.key}/runs/{run.pk}/detach/", HTTP_HX_REQUEST="true")
    assert response.context["runs"] == []
    run.refresh_from_db()
    assert run.ticket is None


def test_attaching_a_run_of_another_project_is_refused(web, cast, ticket):
    foreign = RunFactory(project=cast.outsider.memberships.get().project)
    response = web(cast.engineer).post(f"/t/{ticket.key}/runs/attach/", {"run": foreign.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert f"There is no run {foreign.pk} in AUTH".encode() in response.content
    foreign.refresh_from_db()
    assert foreign.ticket is None


@pytest.mark.parametrize(("value", "message"), [("", "Choose a run to attach."), ("abc", "Enter a whole number.")])
def test_attaching_no_run_or_a_bad_id_names_the_field_and_changes_nothing(web, cast, run, ticket, value, message):
    response = web(cast.engineer).post(f"/t/{ticket.key}/runs/attach/", {"run": value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert f"Run: {message}".encode() in response.content
    run.refresh_from_db()
    assert run.ticket is None


def test_the_ticket_panel_does_not_grow_with_the_project_s_runs(web, cast, ticket):
    RunFactory(project=cast.project, ticket=ticket, name="attached")
    client = web(cast.engineer)
    before = client.get(f"/t/{ticket.key}/runs/", HTTP_HX_REQUEST="true").content
    for _ in range(40):
        RunFactory(project=cast.project, name="not attached to this ticket")
    after = client.get(f"/t/{ticket.key}/runs/", HTTP_HX_REQUEST="true").content
    assert len(after) == len(before)
    assert b'data-picker-url="/api/v1/projects/AUTH/autocomplete/runs/"' in after


@pytest.mark.parametrize(("who", "status"), PAGE_WRITE)
def test_ticket_panel_writes_role_matrix(web, cast, run, ticket, who, status):
    client = web(cast.user(who))
    assert client.post(f"/t/{ticket.key}/runs/attach/", {"run": run.pk}).status_code == status
    run.ticket = ticket
    run.save()
    assert client.post(f"/t/{ticket.key}/runs/{run.pk}/detach/").status_code == status
    run.refresh_from_db()
    assert run.ticket == ticket


def test_ticket_panel_query_count_is_constant(web, cast, ticket, django_assert_num_queries):
    for _ in range(8):
        run = RunFactory(project=cast.project, ticket=ticket)
        log_history(run, "loss", [0.5])
    RunFactory(project=cast.project)
    client = web(cast.engineer)
    client.get(f"/t/{ticket.key}/runs/", HTTP_HX_REQUEST="true")
    # session, user, membership + project, ticket, runs of the ticket, their latest metrics (the run
    # picker asks the autocomplete endpoint, so no menu of runs is read)
    with django_assert_num_queries(6):
        response = client.get(f"/t/{ticket.key}/runs/", HTTP_HX_REQUEST="true")
    assert len(response.context["runs"]) == 8


# --- MLflow links -----------------------------------------------------------------------
def test_mlflow_links_lead_to_run_pages(web, cast, run):
    client = web(cast.stakeholder)
    assert client.get("/mlflow/").status_code == 200
    response = client.get(f"/mlflow/runs/{run.uuid}/")
    assert response.status_code == 302 and response["Location"] == f"/p/AUTH/runs/{run.pk}/"
    response = client.get(f"/mlflow/experiments/{cast.project.pk}/")
    assert response["Location"] == "/p/AUTH/runs/"
    assert web(cast.outsider).get(f"/mlflow/runs/{run.uuid}/").status_code == 404
    assert Run.objects.count() == 1
