"""The benchmark page's cached fragments: served again without their queries, gone the moment
what they show changes (a new evaluation, a worker's status change, a rename), and never shown
to a viewer of another role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments.benchmarks.services import worker
from tests.experiments.benchmark_helpers import (  # noqa: F401
    make_run,
    media_root_fixture,
    submit,
)
from tests.experiments.benchmarks.test_views import world as world_fixture  # noqa: F401 (the same busy benchmark)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world_fixture):  # noqa: F811 (the fixture, by its name)
    return world_fixture


def _get(client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    # The page from its main part on: the head carries the request's own CSRF token.
    return response.content.decode().split("<main", 1)[1], len(queries)


def test_a_new_evaluation_shows_at_once(web, cast, world):
    client = web(cast.stakeholder)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    first, cold = _get(client, url)
    again, warm = _get(client, url)
    assert again == first and warm < cold - 5  # served from the cache: the leaderboard's queries are gone
    assert "fresh-challenger" not in again
    run = make_run(cast.project, cast.engineer, "fresh-challenger")
    evaluation = submit(run, world.benchmark.datasets.get(), cast.engineer, world.case.worse, run_now=False)
    page, _ = _get(client, url)
    assert "fresh-challenger" in page and f'data-evaluation="{evaluation.pk}"' in page
    assert "queued" in page.split(f'data-evaluation="{evaluation.pk}"', 1)[1].split("</tr>", 1)[0].lower()


def test_a_workers_status_change_shows_at_once(web, cast, world):
    """The worker moves evaluations on with conditional updates (no saves): they bump the version too."""
    client = web(cast.engineer)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    run = make_run(cast.project, cast.engineer, "claimed-one")
    evaluation = submit(run, world.benchmark.datasets.get(), cast.engineer, world.case.worse, run_now=False)
    row = lambda page: page.split(f'data-evaluation="{evaluation.pk}"', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert "running" not in row(_get(client, url)[0]).lower()
    assert worker._claim(evaluation.pk, "w1@host")
    assert "running" in row(_get(client, url)[0]).lower()


def test_a_renamed_run_shows_at_once(web, cast, world):
    client = web(cast.stakeholder)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    assert "gbm" in _get(client, url)[0]
    run = world.challenger.run
    run.name = "gbm-renamed"
    run.save(update_fields=["name"])
    assert "gbm-renamed" in _get(client, url)[0]


def test_each_role_sees_its_own_buttons(web, cast, world):
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    settings_link = f"/p/AUTH/benchmarks/{world.benchmark.pk}/edit/"
    assert settings_link in _get(web(cast.lead), url)[0]
    # Rendered after the lead's page was cached: a stakeholder gets no lead's button, and no submit form.
    stakeholder = _get(web(cast.stakeholder), url)[0]
    assert settings_link not in stakeholder and 'data-testid="submit-form"' not in stakeholder
    engineer = _get(web(cast.engineer), url)[0]
    assert settings_link not in engineer and 'data-testid="submit-form"' in engineer
    assert _get(web(cast.lead), url)[0].count(settings_link) >= 1


def test_the_filters_and_pages_are_cached_apart(web, cast, world):
    client = web(cast.stakeholder)
    url = f"/p/AUTH/benchmarks/{world.benchmark.pk}/"
    everything = _get(client, url)[0]
    worse_only = _get(client, url + "?verdict=worse")[0]
    assert f'data-evaluation="{world.worse.pk}"' in worse_only
    assert f'data-evaluation="{world.challenger.pk}"' not in worse_only
    assert f'data-evaluation="{world.challenger.pk}"' in everything
