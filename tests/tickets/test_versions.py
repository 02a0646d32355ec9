"""The project's content version: bumped by every change a project page shows, once per transaction,
and again after a rollback."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import TicketFactory
from tickets import services
from tickets.models import Project
from tickets.versions import project_touch

pytestmark = pytest.mark.django_db


def version(project) -> int:
    return Project.objects.values_list("content_version", flat=True).get(pk=project.pk)


def test_a_saved_ticket_a_comment_and_an_event_bump_it(cast):
    before = version(cast.project)
    ticket = TicketFactory(project=cast.project)
    assert version(cast.project) > before
    before = version(cast.project)
    services.comment_create(ticket=ticket, author=cast.engineer, body="looks right")
    assert version(cast.project) > before
    before = version(cast.project)
    services.ticket_update(ticket=ticket, actor=cast.lead, title="renamed")
    assert version(cast.project) > before


def test_other_projects_keep_theirs(cast):
    other = Project.objects.get(key="OTHER")
    before = version(other)
    TicketFactory(project=cast.project)
    assert version(other) == before


def test_one_transaction_bumps_it_once(cast):
    before = version(cast.project)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for _ in range(5):
            project_touch(project_id=cast.project.pk)
    assert version(cast.project) == before + 1
    assert sum("content_version" in q["sql"] for q in queries) == 1


def test_the_next_transaction_bumps_it_again(cast):
    before = version(cast.project)
    for _ in range(3):
        with transaction.atomic():
            project_touch(project_id=cast.project.pk)
            project_touch(project_id=cast.project.pk)
    assert version(cast.project) == before + 3


def test_a_rolled_back_bump_is_made_again(cast):
    before = version(cast.project)
    with transaction.atomic():
        try:
            with transaction.atomic():
                project_touch(project_id=cast.project.pk)
                raise RuntimeError("undone")
        except RuntimeError:
            pass
        project_touch(project_id=cast.project.pk)
    assert version(cast.project) == before + 1
