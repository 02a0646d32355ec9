"""The dashboards and demo pages: who may see them, what they show, and their query counts."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experiments.dashboards.models import SprintReview
from tests.experiments.dashboard_story import add_picture, build_story, moment
from tests.factories import TicketFactory
from tickets.models import Sprint, SprintState, TicketEvent, TicketKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(cast):
    return build_story(cast)


READERS = ["stakeholder", "engineer", "lead"]


def pages(story) -> list[str]:
    s1 = story.s1.pk
    return [
        "/p/AUTH/dashboard/",
        f"/p/AUTH/dashboard/sprints/{s1}/",
        "/p/AUTH/demo/",
        f"/p/AUTH/demo/sprints/{s1}/",
        "/t/AUTH-1/demo/",
    ]


@pytest.mark.parametrize("who", READERS)
def test_members_read_every_dashboard_and_demo_page(story, web, who):
    picture = add_picture(story)
    client = web(story.cast.user(who))
    for url in [*pages(story), f"/p/AUTH/demo/material/{picture.pk}/"]:
        assert client.get(url).status_code == 200, url


def test_outsiders_get_404_and_anonymous_users_are_sent_to_log_in(story, web):
    picture = add_picture(story)
    urls = [*pages(story), f"/p/AUTH/demo/material/{picture.pk}/", "/p/AUTH/dashboard/sprint/"]
    outsider = web(story.cast.outsider)
    for url in urls:
        assert outsider.get(url).status_code == 404, url
    anonymous = web(None)
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_a_sprint_of_another_project_is_not_found(story, web):
    from tests.factories import SprintFactory

    other = SprintFactory(project=story.cast.outsider.memberships.get().project)
    client = web(story.cast.lead)
    assert client.get(f"/p/AUTH/dashboard/sprints/{other.pk}/").status_code == 404
    assert client.get(f"/p/AUTH/demo/sprints/{other.pk}/").status_code == 404


def test_the_dashboard_is_in_the_project_navigation(story, web):
    page = web(story.cast.stakeholder).get("/p/AUTH/").content.decode()
    assert 'href="/p/AUTH/dashboard/"' in page


def test_the_sprint_dashboard_shows_the_frozen_record_and_the_charts(story, web):
    page = web(story.cast.stakeholder).get(f"/p/AUTH/dashboard/sprints/{story.s1.pk}/").content.decode()
    for bucket, count in [("committed", 4), ("added", 2), ("removed", 1), ("completed", 2), ("skipped", 1)]:
        assert f'data-bucket="{bucket}">{count}<' in page
    assert 'data-bucket="carried_over">2<' in page
    assert "Frozen when the sprint closed" in page
    for chart in ("burndown", "burnup", "ticket-mix", "outcomes"):
        assert f'id="{chart}" type="application/json"' in page, chart
    assert "Is typing rhythm stable across days" in page and "Supported" in page
    assert "Answered by AUTH-1" in page  # the skip reason
    assert re.search(r"/static/vendor/plotly/plotly-basic\.min\.[0-9a-f]{12}\.js", page)


def test_the_current_sprint_link_opens_the_running_sprint(story, web):
    response = web(story.cast.stakeholder).get("/p/AUTH/dashboard/sprint/")
    assert response["Location"] == f"/p/AUTH/dashboard/sprints/{story.s2.pk}/"


def test_a_planned_sprint_says_its_charts_come_when_it_starts(story, web):
    page = web(story.cast.stakeholder).get(f"/p/AUTH/dashboard/sprints/{story.s3.pk}/").content.decode()
    assert "has not started" in page
    assert 'id="burndown"' not in page


def test_the_project_dashboard_counts_what_each_sprint_delivered_without_people(story, web):
    page = web(story.cast.stakeholder).get("/p/AUTH/dashboard/").content.decode()
    assert 'data-testid="total-answered">2<' in page
    assert 'data-testid="total-shipped">2<' in page
    assert 'id="sprint-outcomes" type="application/json"' in page
    row = page[page.index(f'data-sprint="{story.s1.pk}"') :]
    assert '<td class="text-end" data-col="answered">1</td>' in row[:2000]
    # No per-person numbers: nobody's name or username appears in the delivery table.
    table = page[page.index('data-testid="sprint-table"') :]
    for name in ("lead", "engineer", "stakeholder"):
        assert f">{name}<" not in table


def test_the_demo_tells_the_story_in_plain_language(story, web):
    add_picture(story)
    page = web(story.cast.stakeholder).get("/p/AUTH/demo/").content.decode()
    assert "3 sprints so far" not in page  # only started sprints count
    assert "2 sprints so far · 2 questions answered · 2 code tickets shipped" in page
    assert "Stand up the evaluation skeleton" in page and "Goal partly met" in page
    assert "<strong>stable</strong>" in page  # the answer's Markdown, rendered
    assert "Refuted" in page and "No, not yet." in page
    assert "Evaluation pipeline" in page and "Baseline rule" in page  # shipped
    assert "Now: Sprint 2" in page and "Next: Sprint 3" in page and "Threshold calibration" in page
    assert 'src="/p/AUTH/demo/material/' in page


def test_the_sprint_review_is_the_sprint_demo_and_the_lead_records_the_verdict(story, web):
    lead = web(story.cast.lead)
    page = lead.get(f"/p/AUTH/demo/sprints/{story.s1.pk}/").content.decode()
    assert "Sprint review" in page and 'data-testid="review-form"' in page
    response = lead.post(
        f"/p/AUTH/demo/sprints/{story.s1.pk}/review/",
        {"goal_verdict": "met", "summary": "We have a **baseline**.", "next_steps": "Try a GBM."},
    )
    assert response.status_code == 302
    review = SprintReview.objects.get(sprint=story.s1)
    assert (review.goal_verdict, review.updated_by) == ("met", story.cast.lead)
    page = web(story.cast.stakeholder).get(f"/p/AUTH/demo/sprints/{story.s1.pk}/").content.decode()
    assert "Goal met" in page and "<strong>baseline</strong>" in page and "Try a GBM." in page
    assert 'data-testid="review-form"' not in page


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 403)])
def test_only_leads_record_the_review(story, web, who, status):
    response = web(story.cast.user(who)).post(f"/p/AUTH/demo/sprints/{story.s1.pk}/review/", {"goal_verdict": "met"})
    assert response.status_code == status
    assert not SprintReview.objects.exists()


def test_a_bad_verdict_is_named_and_changes_nothing(story, web):
    response = web(story.cast.lead).post(
        f"/p/AUTH/demo/sprints/{story.s1.pk}/review/", {"goal_verdict": "smashed"}, follow=True
    )
    assert "goal_verdict: Select a valid choice" in response.content.decode()
    assert not SprintReview.objects.exists()


def grow(story, sprints: int = 3, tickets: int = 4) -> None:
    """More of everything: closed sprints (written directly: another sprint is running) with
    answered questions and shipped code, with their history."""
    project = story.cast.project
    start = story.s1_start - datetime.timedelta(days=200)
    for n in range(sprints):
        begin = start + datetime.timedelta(days=14 * n)
        sprint = Sprint.objects.create(
            project=project,
            name=f"Old {n}",
            start_date=begin,
            end_date=begin + datetime.timedelta(days=9),
            state=SprintState.CLOSED,
            started_at=moment(begin, 9),
            closed_at=moment(begin + datetime.timedelta(days=9), 17),
            snapshot={"committed": [], "completed": []},
        )
        for i in range(tickets):
            kind = TicketKind.QUESTION if i % 2 else TicketKind.CODE
            ticket = TicketFactory(
                project=project, sprint=sprint, kind=kind, status="done", outcome="supported" if i % 2 else ""
            )
            TicketEvent.objects.create(
                ticket=ticket, field="created", new={"status": "todo", "sprint": sprint.pk}, created_at=moment(begin, 8)
            )
            TicketEvent.objects.create(
                ticket=ticket, field="status", old="todo", new="done", created_at=moment(begin, 15)
            )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_dashboard_query_counts_are_pinned_and_do_not_grow_with_the_project(story, web):
    add_picture(story)
    client = web(story.cast.stakeholder)
    s1 = story.s1.pk
    # Every page starts with: session, user, the caller's memberships with their projects (the access
    # check; they fill the project switcher too); then:
    expected = {
        # sprints with reviews, grouped ticket counts, benchmarks (none here: results add
        # promotions and evaluations, see test_dashboard_results)
        "/p/AUTH/dashboard/": 6,
        # the sprint, its review, its tickets' history, those tickets, benchmarks, the sprint menu
        f"/p/AUTH/dashboard/sprints/{s1}/": 9,
        # benchmarks, sprints with reviews, grouped counts, answered questions, their material,
        # shipped tickets, the sprints to come, their tickets
        "/p/AUTH/demo/": 11,
        # benchmarks, the sprint, its review, history, tickets, its answered questions, their
        # material, the sprint to come, its tickets
        f"/p/AUTH/demo/sprints/{s1}/": 12,
    }
    before = {url: count_queries(client, url) for url in expected}
    assert before == expected
    grow(story)
    after = {url: count_queries(client, url) for url in expected}
    assert after == expected


def test_a_started_sprint_page_links_its_review_and_dashboard(story, web):
    client = web(story.cast.stakeholder)
    page = client.get(f"/p/AUTH/sprints/{story.s1.pk}/").content.decode()
    assert f'href="/p/AUTH/demo/sprints/{story.s1.pk}/" data-testid="sprint-review-link"' in page
    assert "Sprint review" in page and f'href="/p/AUTH/dashboard/sprints/{story.s1.pk}/"' in page
    planned = client.get(f"/p/AUTH/sprints/{story.s3.pk}/").content.decode()
    assert 'data-testid="sprint-review-link"' not in planned


def test_question_tickets_show_their_demo_material_panel(story, web):
    add_picture(story)
    page = web(story.cast.stakeholder).get("/t/AUTH-1/").content.decode()
    assert 'data-testid="demo-material-panel"' in page and "1 picture and 0 notes" in page
    assert ">Open</a>" in page  # stakeholders read; engineers get "Add or edit"
    assert "Add or edit" in web(story.cast.engineer).get("/t/AUTH-1/").content.decode()
    assert 'data-testid="demo-material-panel"' not in web(story.cast.stakeholder).get("/t/AUTH-2/").content.decode()
