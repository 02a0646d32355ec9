"""Starting an online test in the browser: the new-test form of a benchmark (engineers and leads),
reached from the benchmark page and from an evaluation's page."""

from __future__ import annotations

import pytest

from experiments.abtests.models import AbTestState, OnlineTest
from tests.experiments.benchmark_helpers import make_benchmark, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(cast):
    bench = make_benchmark(cast.project, cast.lead)
    champion = make_run(cast.project, cast.engineer, "rule")
    challenger = make_run(cast.project, cast.engineer, "model")
    return bench, champion, challenger


def _form(champion_run, challenger_run, **overrides) -> dict:
    data = {
        "name": "Unlock success",
        "champion": champion_run.pk,
        "challenger": challenger_run.pk,
        "challenger_share": 20,
        "unit": "user",
        "outcome": "authenticated",
        "kind": "binary",
        "higher_is_better": "on",
        "min_effect": 0.02,
        "alpha": 0.05,
    }
    return {**data, **overrides}


@pytest.mark.parametrize(("who", "status"), [("lead", 200), ("engineer", 200), ("stakeholder", 403), ("outsider", 404)])
def test_engineers_and_leads_open_the_form(web, cast, setup, who, status):
    bench, _, challenger = setup
    response = web(cast.user(who)).get(f"/p/AUTH/benchmarks/{bench.pk}/abtests/new/?challenger={challenger.pk}")
    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        # The challenger is chosen already: the picker posts its id and shows its name.
        assert f'name="challenger" value="{challenger.pk}" data-picker-value' in page
        assert f'value="#{challenger.pk} model"' in page
        assert 'data-picker-url="/api/v1/projects/AUTH/autocomplete/runs/"' in page


def test_a_draft_is_created_with_the_split_and_the_outcome(web, cast, setup):
    bench, champion, challenger = setup
    response = web(cast.engineer).post(f"/p/AUTH/benchmarks/{bench.pk}/abtests/new/", _form(champion, challenger))
    test = OnlineTest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/p/AUTH/abtests/{test.pk}/"
    assert test.state == AbTestState.DRAFT and test.benchmark == bench and test.unit == "user"
    assert [(a["variant"], a["run"], a["weight"]) for a in test.arms] == [
        ("champion", champion.pk, 80.0),
        ("challenger", challenger.pk, 20.0),
    ]
    assert test.primary["name"] == "authenticated" and test.primary["min_effect"] == 0.02


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"challenger": "same"}, "challenger", "other than the champion"),
        ({"min_effect": -1}, "primary", "min_effect"),
        ({"challenger_share": 100}, "challenger_share", "less than or equal to 99"),
        ({"outcome": ""}, "outcome", "required"),
        ({"challenger": 999999}, "challenger", "AUTH has no run 999999."),
        ({"challenger": "abc"}, "challenger", "Enter a whole number."),
        ({"challenger": ""}, "challenger", "Choose a challenger run."),
        ({"challenger": "foreign"}, "challenger", "AUTH has no run"),
    ],
)
def test_a_bad_design_is_refused_by_field_and_nothing_is_created(web, cast, setup, overrides, field, words):
    bench, champion, challenger = setup
    if overrides.get("challenger") == "same":
        overrides = {"challenger": champion.pk}
    if overrides.get("challenger") == "foreign":
        overrides = {"challenger": make_run(cast.outsider.memberships.get().project, cast.outsider, "theirs").pk}
    url = f"/p/AUTH/benchmarks/{bench.pk}/abtests/new/"
    response = web(cast.lead).post(url, _form(champion, challenger, **overrides))
    assert response.status_code == 400
    assert words in response.content.decode()
    if field in ("challenger", "outcome", "challenger_share"):
        errors = response.context["form"].errors
        assert field in errors and words in " ".join(errors[field]), errors
    assert not OnlineTest.objects.exists()


def test_the_form_does_not_grow_with_the_project_s_runs(web, cast, setup, django_assert_num_queries):
    bench, _, challenger = setup
    url = f"/p/AUTH/benchmarks/{bench.pk}/abtests/new/?challenger={challenger.pk}"
    client = web(cast.engineer)
    before = client.get(url).content
    for n in range(40):
        make_run(cast.project, cast.engineer, f"another-run-{n}")
    after = client.get(url).content
    assert len(after) == len(before)
    assert b"another-run" not in after


def test_the_benchmark_panel_offers_a_new_test_to_engineers_only(web, cast, setup):
    bench, _, _ = setup
    url = f"/p/AUTH/benchmarks/{bench.pk}/abtests/"
    assert 'data-testid="abtest-new"' in web(cast.engineer).get(url).content.decode()
    assert 'data-testid="abtest-new"' not in web(cast.stakeholder).get(url).content.decode()
