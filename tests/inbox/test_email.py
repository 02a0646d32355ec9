"""Notification e-mail: sent by a real worker after the change commits, once; the daily digest; "never"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core import mail

from inbox import services as inbox_services
from inbox.models import EmailChoice, Notification, NotificationPreference
from tests.conftest import wait_until
from tests.factories import TicketFactory
from tickets import services


def _mails(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.glob("*.log")))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_mention_is_mailed_by_the_worker_once(cast, celery_worker, worker_mail_dir):
    cast.lead.email = "lead@example.org"
    cast.lead.save(update_fields=["email"])
    ticket = TicketFactory(project=cast.project, title="Tune the threshold")
    services.comment_create(ticket=ticket, author=cast.engineer, body="@lead please look")
    note = Notification.objects.get(recipient=cast.lead)
    wait_until(lambda: "lead@example.org" in _mails(worker_mail_dir), what="the e-mail", timeout=60)
    sent = _mails(worker_mail_dir)
    assert f"engineer mentioned you in a comment on {ticket.key}" in sent
    assert f"http://127.0.0.1:8000/t/{ticket.key}/" in sent and "/account/notifications/" in sent
    note.refresh_from_db()
    assert note.emailed_at is not None
    # Asked again (a redelivered message), nothing more is sent.
    assert inbox_services.notification_emails_send(notification_ids=[note.pk]) == 0


@pytest.mark.django_db
def test_nothing_is_mailed_to_who_chose_never_or_the_digest(cast, django_capture_on_commit_callbacks):
    for user, choice in ((cast.lead, EmailChoice.NEVER), (cast.stakeholder, EmailChoice.DAILY)):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
        NotificationPreference.objects.create(user=user, email=choice)
    ticket = TicketFactory(project=cast.project)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.comment_create(ticket=ticket, author=cast.engineer, body="@lead @stakeholder look")
    assert queued == []  # no one wants mail at once: no task is queued
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert inbox_services.notification_emails_send(notification_ids=ids) == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_daily_digest_sends_one_mail_per_user_once(cast):
    cast.stakeholder.email = "stakeholder@example.org"
    cast.stakeholder.save(update_fields=["email"])
    NotificationPreference.objects.create(user=cast.stakeholder, email=EmailChoice.DAILY)
    NotificationPreference.objects.create(user=cast.lead, email=EmailChoice.NEVER)
    first, second = (
        TicketFactory(project=cast.project, title="First"),
        TicketFactory(project=cast.project, title="Second"),
    )
    services.comment_create(ticket=first, author=cast.engineer, body="@stakeholder @lead one")
    services.comment_create(ticket=second, author=cast.engineer, body="@stakeholder two")
    assert inbox_services.notification_digest_send() == 1
    (digest,) = mail.outbox
    assert digest.to == ["stakeholder@example.org"] and digest.subject == "AgileML: 2 notifications today"
    assert digest.body.index("“First”") < digest.body.index("“Second”")
    assert "lead" not in "".join(m.to[0] for m in mail.outbox)
    assert inbox_services.notification_digest_send() == 0 and len(mail.outbox) == 1


def test_the_digest_is_on_the_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notification-digest"]
    assert entry["task"] == "inbox.tasks.notification_digest_send"
    assert entry["schedule"].remaining_estimate(dt.datetime.now(dt.UTC)) <= dt.timedelta(days=1)
