"""seed_demo makes every dashboard tell a story out of the box, and running it twice changes nothing."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from experiments.dashboards.models import DemoMaterial, ShareLink, SprintReview
from experiments.seed.pictures import Bar, bar_chart_png

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_adds_show_and_tell_reviews_and_a_share_link_once(media):
    first = seed()
    url = re.search(r"share link \(read-only, until [0-9-]+\): (http://\S+)", first).group(1)
    counts = (DemoMaterial.objects.count(), SprintReview.objects.count(), ShareLink.objects.count())
    assert counts == (10, 3, 1)  # a picture and a note on each of the five answered questions
    second = seed()
    assert url in second
    assert (DemoMaterial.objects.count(), SprintReview.objects.count(), ShareLink.objects.count()) == counts
    page = Client().get(url.removeprefix("http://127.0.0.1:8000")).content.decode()
    assert "Continuous authentication" in page and "Motion sensors" not in page  # project page, not a sprint
    pictures = re.findall(r'<img src="(/s/[^"]+/material/\d+/)"', page)
    assert len(pictures) == 5
    picture = Client().get(pictures[0])
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")


def test_seed_demo_runs_one_online_test_with_aggregated_events_once(media):
    from experiments.abtests.models import OnlineEvent, OnlineSnapshot, OnlineTest
    from experiments.seed.abtests import BATCHES, PER_BATCH, TEST_NAME

    first = seed()
    test = OnlineTest.objects.select_related("benchmark").get()
    assert test.name == TEST_NAME and test.state == "running" and test.started_at is not None
    # The champion against another run of the demo benchmark, every event aggregated, one look per batch.
    assert test.arms[0]["run"] == test.benchmark.champion_id and test.arms[1]["run"] != test.benchmark.champion_id
    assert test.n_events == OnlineEvent.objects.count() == BATCHES * PER_BATCH
    assert test.aggregated_version == test.events_version == BATCHES == OnlineSnapshot.objects.count()
    assert test.analysis["challengers"][0]["primary"]["estimate"] is not None
    assert f"online test '{TEST_NAME}' (4,000 events)" in first
    analysis = test.analysis
    seed()
    assert (OnlineTest.objects.count(), OnlineEvent.objects.count(), OnlineSnapshot.objects.count()) == (1, 4000, 4)
    assert OnlineTest.objects.get().analysis == analysis
    # The stakeholder demo tells it beside the offline evaluations.
    url = re.search(r"share link \(read-only, until [0-9-]+\): (http://\S+)", first).group(1)
    page = Client().get(url.removeprefix("http://127.0.0.1:8000")).content.decode()
    assert page.count('data-testid="online-test-row"') == 1 and TEST_NAME in page
    assert "always-valid 95%" in page


def test_a_revoked_demo_link_is_replaced_by_a_new_one(media):
    seed()
    link = ShareLink.objects.get()
    from experiments.dashboards.services import share_link_revoke

    share_link_revoke(link=link, actor=None)
    out = seed()
    assert ShareLink.objects.count() == 2
    fresh = ShareLink.objects.exclude(pk=link.pk).get()
    assert fresh.token_hint in out


def test_demo_charts_are_real_pngs():
    data = bar_chart_png("AUC", [Bar("a", 0.9, 0.88, 0.92), Bar("b", 0.8)], y_min=0.5, y_max=1.0)
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (720, 400)
    with pytest.raises(ValueError, match="at least one bar"):
        bar_chart_png("empty", [])


def test_on_restart_seed_demo_reports_what_the_project_holds(media):
    from tests.factories import TicketFactory
    from tickets.models import Epic, Project, Sprint, Ticket

    seed()
    project = Project.objects.get(key="AUTH")
    TicketFactory(project=project, title="Added after the demo")
    Ticket.objects.filter(project=project, title__startswith="Per-user score").update(title="Renamed by the team")
    out = seed()
    found = re.search(r"is ready: (\d+) epics, (\d+) sprints, (\d+) tickets, (\d+) runs", out).groups()
    from experiments.models import Run

    expected = (
        Epic.objects.filter(project=project).count(),
        Sprint.objects.filter(project=project).count(),
        Ticket.objects.filter(project=project).count(),
        Run.objects.filter(project=project).count(),
    )
    assert tuple(int(n) for n in found) == expected
