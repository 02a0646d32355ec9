"""The model pages: who sees them, what they show, and a constant number of queries."""

from __future__ import annotations

import pytest

from experiments.registry import services
from tests.experiments.benchmark_helpers import make_benchmark
from tests.experiments.registry.factories import model_with_versions
from tests.factories import TicketFactory
from tickets.access import NOT_FOUND

pytestmark = pytest.mark.django_db


@pytest.fixture
def scorer(cast):
    ticket = TicketFactory(project=cast.project, title="Scorer")
    return model_with_versions(cast.project, cast.engineer, "scorer", 2, ticket=ticket)


@pytest.mark.parametrize("url", ["/p/AUTH/models/", "/p/AUTH/models/scorer/"])
def test_members_read_outsiders_get_the_same_404(web, cast, scorer, url):
    for user in (cast.stakeholder, cast.engineer, cast.lead):
        page = web(user).get(url)
        assert page.status_code == 200
        assert "scorer" in page.content.decode()
    hidden = web(cast.outsider).get(url)
    assert hidden.status_code == 404 and NOT_FOUND in hidden.content.decode()
    assert web(None).get(url).status_code == 302


def test_a_member_is_told_a_model_is_missing(web, cast):
    page = web(cast.stakeholder).get("/p/AUTH/models/nothing/")
    assert page.status_code == 404
    assert "There is no registered model &#x27;nothing&#x27; in AUTH." in page.content.decode()


def test_the_model_page_shows_versions_with_run_ticket_aliases_and_snippet(web, cast, scorer):
    versions = list(scorer.versions.order_by("version"))
    services.alias_set(model=scorer, alias="challenger", version=versions[0], user=cast.engineer)
    html = web(cast.stakeholder).get("/p/AUTH/models/scorer/").content.decode()
    assert 'data-version="2"' in html and 'data-version="1"' in html
    assert 'data-alias="challenger"' in html
    assert "scorer-run-0" in html and versions[0].run.ticket.key in html
    assert "models:/scorer/2" in html  # no @champion: the snippet loads the newest version


def test_a_benchmark_model_page_exists_before_its_first_version(web, cast):
    benchmark = make_benchmark(cast.project, cast.lead)
    html = web(cast.stakeholder).get("/p/AUTH/models/holdout/").content.decode()
    assert "No versions yet." in html
    assert f"/p/AUTH/benchmarks/{benchmark.pk}/" in html
    bench_page = web(cast.stakeholder).get(f"/p/AUTH/benchmarks/{benchmark.pk}/").content.decode()
    assert 'href="/p/AUTH/models/holdout/"' in bench_page


def test_the_model_list_costs_the_same_for_many_models(web, cast, scorer, django_assert_num_queries):
    client = web(cast.stakeholder)
    # 1 session, 2 user, 3 the user's memberships with projects (access; they fill the switcher too),
    # 4 models with latest version id and count, 5 their tags, 6 their aliases, 7 the latest versions,
    # 8 their tags, 9 their aliases
    with django_assert_num_queries(9):
        assert client.get("/p/AUTH/models/").status_code == 200
    for i in range(4):
        model_with_versions(cast.project, cast.engineer, f"more-{i}", 2)
    with django_assert_num_queries(9):
        assert client.get("/p/AUTH/models/").status_code == 200


def test_the_model_page_costs_the_same_for_many_versions(web, cast, django_assert_num_queries):
    benchmark = make_benchmark(cast.project, cast.lead)
    model = model_with_versions(cast.project, cast.engineer, benchmark.name, 2)
    client = web(cast.stakeholder)
    # 1 session, 2 user, 3 memberships with projects, 4 memberships with projects again (the model's
    # access check), 5 the model with its benchmark, 6 versions with run, ticket and creator, 7 their tags,
    # 8 their aliases, 9 the evaluations they came from, 10 the model's tags
    with django_assert_num_queries(10):
        assert client.get("/p/AUTH/models/holdout/").status_code == 200
    for _ in range(5):
        services.model_version_create(model=model, origin=_origin(model), user=cast.engineer)
    with django_assert_num_queries(10):
        assert client.get("/p/AUTH/models/holdout/").status_code == 200


def _origin(model):
    version = model.versions.select_related("run").first()
    return services.VersionSource(source=version.source, run=version.run, artifact_path="model")
