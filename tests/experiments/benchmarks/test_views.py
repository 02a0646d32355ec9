"""Benchmark and evaluation pages: the role matrix on every page, what each shows, constant query counts."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pytest

from experiments.models import Benchmark, ChampionChange, Evaluation, EvaluationStatus, Run
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
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@dataclass
class World:
    benchmark: Benchmark
    baseline: Evaluation
    challenger: Evaluation
    worse: Evaluation
    ticket: object
    case: object


@pytest.fixture
def world(cast, media_root, tmp_path, settings) -> World:
    settings.EVALUATION_RESAMPLES = 200
    case = write_binary_case(tmp_path / "case", n_subjects=20, rows_per_subject=10)
    benchmark = make_benchmark(cast.project, cast.lead, case, description="Fewer owners locked out.")
    dataset = benchmark.datasets.get()
    ticket = TicketFactory(project=cast.project, title="Gradient boosting on typing rhythm")
    baseline = submit(make_run(cast.project, cast.engineer, "rule"), dataset, cast.engineer, case.champion)
    crown(benchmark, baseline, cast.lead, note="hand-written rule")
    challenger = submit(
        make_run(cast.project, cast.engineer, "gbm", ticket.key), dataset, cast.engineer, case.challenger
    )
    worse = submit(make_run(cast.project, cast.engineer, "tiny"), dataset, cast.engineer, case.worse)
    return World(benchmark, baseline, challenger, worse, ticket, case)


ROLES = ["lead", "engineer", "stakeholder", "outsider", "anonymous"]


def _client(web, cast, who):
    return web(None if who == "anonymous" else cast.user(who))


def _status(response) -> int:
    # Anonymous visitors are sent to the login page.
    if response.status_code == 302 and "/login/" in response["Location"]:
        return 401
    return response.status_code


READ = {"lead": 200, "engineer": 200, "stakeholder": 200, "outsider": 404, "anonymous": 401}
LEAD_ONLY = {"lead": 200, "engineer": 403, "stakeholder": 403, "outsider": 404, "anonymous": 401}
ENGINEERS = {"lead": 200, "engineer": 200, "stakeholder": 403, "outsider": 404, "anonymous": 401}


def _cases(pages):
    return [pytest.param(path, who, codes[who], id=f"{path}-{who}") for path, codes in pages for who in ROLES]


GET_PAGES = [
    ("/p/AUTH/benchmarks/", READ),
    ("/p/AUTH/benchmarks/new/", LEAD_ONLY),
    ("/p/AUTH/benchmarks/{b}/", READ),
    ("/p/AUTH/benchmarks/{b}/edit/", LEAD_ONLY),
    ("/p/AUTH/benchmarks/{b}/curves/?challenger={e}", READ),
    ("/p/AUTH/benchmarks/{b}/datasets/", READ),
    ("/p/AUTH/benchmarks/{b}/submit/", ENGINEERS),
    ("/p/AUTH/evaluations/{e}/", READ),
    ("/p/AUTH/evaluations/{e}/status/", READ),
    ("/p/AUTH/runs/{r}/evaluations/", READ),
    ("/t/{t}/evaluations/", READ),
]


@pytest.mark.parametrize(("path", "who", "expected"), _cases(GET_PAGES))
def test_pages_are_for_members(web, cast, world, path, who, expected):
    url = path.format(b=world.benchmark.pk, e=world.challenger.pk, r=world.challenger.run_id, t=world.ticket.key)
    assert _status(_client(web, cast, who).get(url)) == expected


@pytest.mark.parametrize("who", ROLES)
def test_creating_a_benchmark_in_the_browser_is_for_leads(web, cast, world, who):
    response = _client(web, cast, who).post(
        "/p/AUTH/benchmarks/new/",
        {"name": "fraud", "task": "binary", "threshold": "0.7", "guardrails": "eer=0.01", "description": "d"},
    )
    expected = {"lead": 302, **{w: c for w, c in LEAD_ONLY.items() if w != "lead"}}[who]
    assert _status(response) == expected
    created = Benchmark.objects.filter(name="fraud").first()
    assert (created is not None) == (who == "lead")
    if created:
        assert (created.threshold, created.guardrails, created.primary_metric) == (0.7, {"eer": 0.01}, "auc")


@pytest.mark.parametrize("who", ROLES)
def test_editing_a_benchmark_in_the_browser_is_for_leads(web, cast, world, who):
    response = _client(web, cast, who).post(
        f"/p/AUTH/benchmarks/{world.benchmark.pk}/edit/",
        {"name": "holdout", "threshold": "0.5", "guardrails": "eer=0.03", "description": "changed"},
    )
    expected = {"lead": 302, **{w: c for w, c in LEAD_ONLY.items() if w != "lead"}}[who]
    assert _status(response) == expected
    world.benchmark.refresh_from_db()
    assert (world.benchmark.guardrails == {"eer": 0.03}) == (who == "lead")


@pytest.mark.parametrize("who", ROLES)
def test_submitting_predictions_in_the_browser_is_for_engineers(
    web, cast, world, who, django_capture_on_commit_callbacks
):
    runs = Run.objects.count()
    with django_capture_on_commit_callbacks() as queued:
        response = _client(web, cast, who).post(
            f"/p/AUTH/benchmarks/{world.benchmark.pk}/submit/",
            {"file": file_field(world.case.worse.read_bytes(), "p.csv"), "run_name": "lr", "ticket": world.ticket.key},
        )
    allowed = who in ("lead", "engineer")
    assert _status(response) == (302 if allowed else ENGINEERS[who])
    assert Run.objects.count() == runs + allowed
    assert len(queued) == allowed
    if allowed:
        run = Run.objects.get(name="lr")
        assert run.ticket == world.ticket
        evaluation = Evaluation.objects.get(run=run)
        assert response["Location"] == f"/p/AUTH/evaluations/{evaluation.pk}/"
        assert evaluation.status == EvaluationStatus.QUEUED


@pytest.mark.parametrize(
    ("run", "words"), [("999999", "There is no run 999999 in AUTH."), ("x", "Enter a whole number."), ("foreign", "")]
)
def test_a_run_id_from_the_picker_must_be_one_of_the_project_s(web, cast, world, run, words):
    if run == "foreign":
        foreign = make_run(cast.outsider.memberships.get().project, cast.outsider, "theirs")
        run, words = str(foreign.pk), f"There is no run {foreign.pk} in AUTH."
    before = (Run.objects.count(), Evaluation.objects.count())
    response = web(cast.engineer).post(
        f"/p/AUTH/benchmarks/{world.benchmark.pk}/submit/",
        {"file": file_field(world.case.worse.read_bytes(), "p.csv"), "run": run},
    )
    assert response.status_code == 400
    assert words in " ".join(response.context["submit_form"].errors["run"])
    assert (Run.objects.count(), Evaluation.objects.count()) == before


def test_the_submit_page_does_not_grow_with_the_project_s_runs_and_tickets(web, cast, world):
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/submit/"
    client = web(cast.engineer)
    before = client.get(url).content
    for n in range(30):
        make_run(cast.project, cast.engineer, f"another-run-{n}", TicketFactory(project=cast.project).key)
    after = client.get(url).content
    assert len(after) == len(before)
    assert b"another-run" not in after and b"<datalist" not in after


@pytest.mark.parametrize("who", ROLES)
def test_promoting_in_the_browser_is_for_leads(web, cast, world, who):
    response = _client(web, cast, who).post(f"/p/AUTH/evaluations/{world.challenger.pk}/promote/", {"note": "wins"})
    expected = {"lead": 302, **{w: c for w, c in LEAD_ONLY.items() if w != "lead"}}[who]
    assert _status(response) == expected
    world.benchmark.refresh_from_db()
    assert (world.benchmark.champion_id == world.challenger.run_id) == (who == "lead")


@pytest.mark.parametrize("who", ROLES)
def test_evaluating_again_in_the_browser_is_for_engineers(web, cast, world, who):
    before = Evaluation.objects.count()
    response = _client(web, cast, who).post(f"/p/AUTH/evaluations/{world.challenger.pk}/rerun/", {"force": "1"})
    allowed = who in ("lead", "engineer")
    assert _status(response) == (302 if allowed else ENGINEERS[who])
    assert Evaluation.objects.count() == before + allowed


@pytest.mark.parametrize("who", ROLES)
def test_uploading_a_dataset_in_the_browser_is_for_leads(web, cast, world, who):
    content = world.case.truth.read_text() + "extra,1,subject-x\n"
    response = _client(web, cast, who).post(
        f"/p/AUTH/benchmarks/{world.benchmark.pk}/datasets/", {"file": file_field(content, "v2.csv")}
    )
    expected = {"lead": 302, **{w: c for w, c in LEAD_ONLY.items() if w != "lead"}}[who]
    assert _status(response) == expected
    assert world.benchmark.datasets.count() == (2 if who == "lead" else 1)


# --- What the pages show ----------------------------------------------------------------
def _text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_benchmark_page_shows_champion_challengers_charts_and_history(web, cast, world):
    page = _text(web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{world.benchmark.pk}/"))
    assert 'data-testid="champion-run"' in page and ">rule</a>" in page
    assert "Better means:</em> Fewer owners locked out." in page
    assert 'data-testid="forest-plot"' in page and 'id="forest-figure"' in page
    assert 'id="roc-figure"' in page and 'id="det-figure"' in page
    table = page.split('data-testid="challengers-table"', 1)[1].split("</table>", 1)[0]
    assert f'data-evaluation="{world.challenger.pk}"' in table
    assert 'data-verdict="better"' in table and 'data-verdict="worse"' in table
    assert world.ticket.key in table
    history = page.split('data-testid="champion-history"', 1)[1]
    assert "baseline" in history and "hand-written rule" in history
    # Stakeholders see no upload or promotion controls.
    assert 'data-testid="submit-form"' not in page and 'data-testid="dataset-form"' not in page


def test_engineers_and_leads_get_the_forms_they_may_use(web, cast, world):
    engineer = _text(web(cast.engineer).get(f"/p/AUTH/benchmarks/{world.benchmark.pk}/"))
    assert 'data-testid="submit-form"' in engineer and 'data-testid="dataset-form"' not in engineer
    lead = _text(web(cast.lead).get(f"/p/AUTH/benchmarks/{world.benchmark.pk}/"))
    assert 'data-testid="submit-form"' in lead and 'data-testid="dataset-form"' in lead


def test_the_curves_follow_the_selected_challenger(web, cast, world):
    fragment = _text(
        web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{world.benchmark.pk}/curves/?challenger={world.worse.pk}")
    )
    assert f'data-evaluation="{world.worse.pk}"' in fragment
    assert f'<option value="{world.worse.pk}" selected>' in fragment


def test_the_evaluation_page_says_the_comparison_in_plain_words(web, cast, world):
    page = _text(web(cast.stakeholder).get(f"/p/AUTH/evaluations/{world.challenger.pk}/"))
    sentence = page.split('data-testid="comparison-sentence">', 1)[1].split("</p>", 1)[0]
    comparison = world.challenger.result["comparison"]
    assert sentence.startswith(
        f"AUC +{comparison['delta']:.3f} [+{comparison['ci_low']:.3f}, +{comparison['ci_high']:.3f}], better, p"
    )
    assert sentence.endswith("guardrail EER held")
    metrics = page.split('data-testid="metrics-table"', 1)[1].split("</table>", 1)[0]
    for metric in ("auc", "eer", "accuracy", "f1", "brier_loss", "log_loss"):
        assert f'data-metric="{metric}"' in metrics
    assert "Only leads of AUTH promote champions." in page


def test_leads_get_an_enabled_promote_button_when_the_gate_passes(web, cast, world):
    page = _text(web(cast.lead).get(f"/p/AUTH/evaluations/{world.challenger.pk}/"))
    assert 'data-testid="promote-form"' in page
    assert "disabled" not in page.split('data-testid="promote-card"', 1)[1].split("</form>", 1)[0]


def test_a_failed_gate_disables_the_button_with_the_reason_and_offers_an_override(web, cast, world):
    client = web(cast.lead)
    page = _text(client.get(f"/p/AUTH/evaluations/{world.worse.pk}/"))
    card = page.split('data-testid="promote-card"', 1)[1]
    assert '<button class="btn btn-primary w-100" type="button" disabled data-testid="promote-button">' in card
    assert "The gate fails: auc: the challenger is significantly worse" in card
    assert 'data-testid="override-form"' in card and 'name="override_reason"' in card

    refused = client.post(f"/p/AUTH/evaluations/{world.worse.pk}/promote/", {"override_reason": ""})
    assert refused.status_code == 400
    assert "A lead may promote anyway only with a written reason" in html.unescape(refused.content.decode())
    assert ChampionChange.objects.count() == 1

    done = client.post(f"/p/AUTH/evaluations/{world.worse.pk}/promote/", {"override_reason": "Smaller and fair."})
    assert done.status_code == 302
    assert ChampionChange.objects.get(run_id=world.worse.run_id).override_reason == "Smaller and fair."


def test_stale_evidence_disables_the_button_and_offers_to_evaluate_again(web, cast, world):
    client = web(cast.lead)
    assert client.post(f"/p/AUTH/evaluations/{world.challenger.pk}/promote/").status_code == 302
    page = _text(client.get(f"/p/AUTH/evaluations/{world.worse.pk}/"))
    assert "The champion changed since evaluation" in page
    assert "Evaluate again (current champion, latest dataset)" in page
    response = client.post(f"/p/AUTH/evaluations/{world.worse.pk}/rerun/")
    fresh = Evaluation.objects.latest("id")
    assert response["Location"] == f"/p/AUTH/evaluations/{fresh.pk}/"
    assert fresh.run_id == world.worse.run_id and fresh.champion_run_id == world.challenger.run_id


def test_a_conflicting_promotion_in_the_browser_answers_409(web, cast, world):
    client = web(cast.lead)
    client.post(f"/p/AUTH/evaluations/{world.challenger.pk}/promote/")
    response = client.post(f"/p/AUTH/evaluations/{world.worse.pk}/promote/", {"override_reason": "x"})
    assert response.status_code == 409
    assert "The champion changed since evaluation" in html.unescape(response.content.decode())


def test_a_running_evaluation_polls_with_a_progress_bar_and_stops_when_done(web, cast, world):
    Evaluation.objects.filter(pk=world.worse.pk).update(
        status=EvaluationStatus.RUNNING, progress=37, stage="resampling"
    )
    client = web(cast.engineer)
    running = _text(client.get(f"/p/AUTH/evaluations/{world.worse.pk}/status/"))
    assert 'hx-trigger="every 1s"' in running
    assert 'aria-valuenow="37"' in running and 'style="width: 37%"' in running
    assert "Evaluating: resampling" in running
    Evaluation.objects.filter(pk=world.worse.pk).update(status=EvaluationStatus.SUCCEEDED, progress=100)
    done = _text(client.get(f"/p/AUTH/evaluations/{world.worse.pk}/status/"))
    assert "hx-trigger" not in done and 'data-testid="verdict-card"' in done


def test_a_failed_evaluation_shows_its_message(web, cast, world):
    Evaluation.objects.filter(pk=world.worse.pk).update(
        status=EvaluationStatus.FAILED, error="p.csv, line 3, column 2 (score): log_loss needs probabilities"
    )
    page = _text(web(cast.engineer).get(f"/p/AUTH/evaluations/{world.worse.pk}/"))
    assert "p.csv, line 3, column 2 (score): log_loss needs probabilities" in page


def test_the_run_and_ticket_panels_list_evaluations_with_verdicts(web, cast, world):
    client = web(cast.stakeholder)
    run_panel = _text(client.get(f"/p/AUTH/runs/{world.challenger.run_id}/evaluations/"))
    assert f'data-evaluation="{world.challenger.pk}"' in run_panel and 'data-verdict="better"' in run_panel
    assert "Upload predictions" not in run_panel  # stakeholders read only
    run_page = _text(client.get(f"/p/AUTH/runs/{world.challenger.run_id}/"))
    assert f'hx-get="/p/AUTH/runs/{world.challenger.run_id}/evaluations/"' in run_page
    ticket_panel = _text(client.get(f"/t/{world.ticket.key}/evaluations/", HTTP_HX_REQUEST="true"))
    assert f'data-evaluation="{world.challenger.pk}"' in ticket_panel
    assert "<html" not in ticket_panel  # a fragment for the ticket page
    assert "<html" in _text(client.get(f"/t/{world.ticket.key}/evaluations/"))


def test_the_benchmark_list_shows_champion_and_dataset(web, cast, world):
    page = _text(web(cast.stakeholder).get("/p/AUTH/benchmarks/"))
    card = page.split('data-benchmark="holdout"', 1)[1].split("</a>", 1)[0]
    assert "rule" in card and "v1" in card and "200 rows" in card and "20 groups" in card
    assert "New benchmark" not in page
    assert 'href="/p/AUTH/benchmarks/"' in page  # the project navigation shows the area


def test_a_bad_benchmark_form_names_the_field(web, cast, world):
    response = web(cast.lead).post(
        "/p/AUTH/benchmarks/new/", {"name": "x", "task": "binary", "threshold": "0.5", "guardrails": "eer"}
    )
    assert response.status_code == 400
    assert "Write each guardrail as metric=margin; 'eer' has no '='." in html.unescape(response.content.decode())
    assert not Benchmark.objects.filter(name="x").exists()


# --- Query counts -----------------------------------------------------------------------
def test_the_benchmark_page_costs_the_same_for_many_evaluations(web, cast, world, django_assert_num_queries):
    client = web(cast.engineer)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    clone_evaluations(world.challenger, 60, ticket=world.ticket)
    # 1 session, 2 user, 3 the user's memberships with projects (access check; they fill the switcher
    # too), 4 benchmark, 5 benchmark+champion+ticket+starter, 6 datasets, 7 champion history, 8 the sprints
    # that ran (to credit each promotion), 9 evaluation count, 10 evaluation page (run, ticket, champion,
    # dataset, requester joined), 11 forest rows, 12 curves of the newest comparison, 13 curve menu, 14 the
    # set's comparisons so far (LORD++ sequence), 15 its promotions and overrides, 16 champion history count
    # (it is paged), 17 the newest promotion (heads the page on every history page). The submit form's run
    # picker asks the autocomplete endpoint: no menu of runs is read.
    with django_assert_num_queries(17):
        assert client.get(url).status_code == 200
    # Kept whole: 1 session, 2 user, 3 memberships with projects, 4 benchmark.
    with django_assert_num_queries(4):
        assert client.get(url).status_code == 200
    clone_evaluations(world.challenger, 200)
    with django_assert_num_queries(17):
        assert client.get(url).status_code == 200


def test_the_benchmark_list_costs_the_same_for_many_benchmarks(web, cast, world, django_assert_num_queries):
    client = web(cast.stakeholder)
    # 1 session, 2 user, 3 membership+project, 4 benchmark count (the list is paged), 5 a page of benchmarks
    # with champion value and counts, 6 their latest datasets (the memberships fill the switcher too)
    with django_assert_num_queries(6):
        client.get("/p/AUTH/benchmarks/")
    for i in range(6):
        make_benchmark(cast.project, cast.lead, name=f"more-{i}")
    with django_assert_num_queries(6):
        client.get("/p/AUTH/benchmarks/")


def test_the_evaluation_page_costs_a_fixed_number_of_queries(web, cast, world, django_assert_num_queries):
    # 1 session, 2 user, 3 the user's memberships with projects (access; they fill the switcher too),
    # 4 the evaluation's status and benchmark; not yet kept: 5 memberships, 6 evaluation with benchmark,
    # dataset, run, ticket, predictions, champion, requester, 7 the benchmark now, 8 its latest dataset,
    # 9 the report (deferred). A finished evaluation's page is then kept whole: 1 to 4 only.
    client = web(cast.lead)
    url = f"/p/AUTH/evaluations/{world.challenger.pk}/"
    with django_assert_num_queries(9):
        first = client.get(url)
    with django_assert_num_queries(4):
        again = client.get(url)
    assert first.status_code == again.status_code == 200
    table = 'data-testid="metrics-table"'
    assert table in _text(first) and _text(first).split(table)[1][:4000] == _text(again).split(table)[1][:4000]


def test_a_renamed_run_shows_at_once_on_a_cached_evaluation_page(web, cast, world):
    """The figures' legends (kept in the cache) name the run as the rest of the page does."""
    client = web(cast.stakeholder)
    url = f"/p/AUTH/evaluations/{world.challenger.pk}/"
    run = world.challenger.run
    run.name = "first-name-of-the-run"
    run.save(update_fields=["name"])
    before = _text(client.get(url)).count("first-name-of-the-run")
    assert before >= 2  # in the heading and in the figures
    run.name = "renamed-challenger"
    run.save(update_fields=["name"])
    after = _text(client.get(url))
    assert "first-name-of-the-run" not in after and after.count("renamed-challenger") == before


# --- Paging -----------------------------------------------------------------------------
def test_the_benchmark_list_is_paged_at_a_constant_cost(web, cast, world, django_assert_num_queries):
    from tickets.paging import LIST_PAGE_SIZE

    for i in range(LIST_PAGE_SIZE + 2):
        make_benchmark(cast.project, cast.lead, name=f"more-{i:02d}")
    client = web(cast.stakeholder)
    first = _text(client.get("/p/AUTH/benchmarks/"))
    # Ordered by name: holdout, more-00 … more-22 on page 1; more-23 … more-25 on page 2.
    assert 'data-testid="pager"' in first and "Page 1 of 2" in first and f"{LIST_PAGE_SIZE + 3} in all" in first
    assert first.count("data-benchmark=") == LIST_PAGE_SIZE
    assert 'data-benchmark="more-22"' in first and 'data-benchmark="more-23"' not in first
    card = first.split('data-benchmark="holdout"', 1)[1].split("</a>", 1)[0]
    assert "rule" in card and "200 rows" in card  # the page is finished with champion and dataset
    second = _text(client.get("/p/AUTH/benchmarks/?page=2"))
    assert second.count("data-benchmark=") == 3 and "Page 2 of 2" in second and 'rel="prev"' in second
    assert 'data-benchmark="more-23"' in second and 'data-benchmark="more-25"' in second
    with django_assert_num_queries(6):
        client.get("/p/AUTH/benchmarks/?page=2")
    for bad, shown in (("zzz", "Page 1 of 2"), ("99", "Page 2 of 2"), ("-1", "Page 2 of 2")):
        response = client.get(f"/p/AUTH/benchmarks/?page={bad}")
        assert response.status_code == 200 and shown in _text(response)


def _old_promotions(world, count: int) -> None:
    """``count`` promotions older than the real one, without running the gate each time."""
    import datetime

    from django.utils import timezone

    from tickets.versions import project_touch

    start = timezone.now() - datetime.timedelta(days=count + 1)
    ChampionChange.objects.bulk_create(
        [
            ChampionChange(
                benchmark=world.benchmark,
                run_name=f"old-{i:02d}",
                gate_allowed=True,
                primary_metric=world.benchmark.primary_metric,
                promoted_at=start + datetime.timedelta(days=i),
            )
            for i in range(count)
        ]
    )
    # Bulk inserts save nothing one by one: bump the project's content version as the app's bulk writers do.
    project_touch(project_id=world.benchmark.project_id)


def _history(page: str) -> str:
    return page.split('data-testid="champion-history"', 1)[1].split("{% endblock", 1)[0]


def test_the_champion_history_is_paged_on_its_own_parameter(web, cast, world, django_assert_num_queries):
    from tickets.paging import LIST_PAGE_SIZE

    client = web(cast.stakeholder)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    # As for an engineer (test above) but without the submit form's recent runs: 17.
    with django_assert_num_queries(17):
        client.get(url)
    _old_promotions(world, LIST_PAGE_SIZE + 1)
    first = _text(client.get(url))
    history = _history(first)
    # Newest first: the real promotion, then old-24 … old-02 on page 1.
    assert history.count("data-change=") == LIST_PAGE_SIZE
    assert "old-24" in history and "old-01" not in history
    assert 'data-pager="history_page"' in history and "Page 1 of 2" in history
    assert f"{LIST_PAGE_SIZE + 2} in all" in history and "history_page=2" in history
    with django_assert_num_queries(17):
        second = _text(client.get(url + "?history_page=2&dataset=1"))
    history = _history(second)
    assert history.count("data-change=") == 2 and "old-01" in history and "old-00" in history
    assert "dataset=1&history_page=1" in history  # the other parameters are kept
    # The champion panel still speaks of the newest promotion, not the page's first row.
    assert "Promoted by lead" in second and "hand-written rule" not in history
    # The evaluations list keeps its own ?page=: it is not moved by the history's page.
    assert first.count("data-evaluation=") == second.count("data-evaluation=")
    for bad, shown in (("zzz", "Page 1 of 2"), ("7", "Page 2 of 2")):
        response = client.get(f"{url}?history_page={bad}")
        assert response.status_code == 200 and shown in _history(_text(response))


def test_the_dataset_versions_page_is_paged_at_a_constant_cost(web, cast, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from experiments.models import EvaluationDataset
    from tickets.paging import LIST_PAGE_SIZE

    def more_versions(count: int) -> None:
        template = EvaluationDataset.objects.filter(benchmark=world.benchmark).order_by("-version").first()
        fields = {
            f.attname: getattr(template, f.attname)
            for f in EvaluationDataset._meta.concrete_fields
            if f.attname not in ("id", "version", "sha256")
        }
        EvaluationDataset.objects.bulk_create(
            EvaluationDataset(**{**fields, "version": v, "sha256": f"{v:064x}"})
            for v in range(template.version + 1, template.version + count + 1)
        )

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    client = web(cast.lead)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/datasets/"
    few = [queries(url), queries(url + "?page=2")]
    more_versions(LIST_PAGE_SIZE + 2)
    assert [queries(url), queries(url + "?page=2")] == few
    total = LIST_PAGE_SIZE + 3
    first = _text(client.get(url))
    assert "Page 1 of 2" in first and f"{total} in all" in first
    table = first.split('data-testid="datasets-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<strong>v") == LIST_PAGE_SIZE and f"<strong>v{total}</strong> <span" in table
    second = _text(client.get(url + "?page=2"))
    table = second.split('data-testid="datasets-table"', 1)[1].split("</table>", 1)[0]
    # The newest version is "current"; page 2 holds the oldest, none of them current.
    assert table.count("<strong>v") == 3 and "<strong>v1</strong>" in table and ">current<" not in table
