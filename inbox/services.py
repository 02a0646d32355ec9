"""Writes: notifications from domain events, watching tickets, reading the inbox, e-mail.

:func:`notifications_for_event` is subscribed to ``agileml.events`` (see ``hooks.py``): it runs
inside the publisher's transaction and writes every notification of one event with one bulk
insert (and the new watchers with another), a constant number of queries however many people
are told. Mail is queued with ``transaction.on_commit`` for those who want it at once; the rows
are the source of truth (``emailed_at``), so a lost message only delays mail to the digest check.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import get_connection, send_mail
from django.core.mail.message import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agileml import events
from inbox import fanout
from inbox.models import DEFAULT_EMAIL, EmailChoice, Notification, NotificationPreference, Watcher
from tickets.access import parse_ticket_key
from tickets.markdown import mentioned_names
from tickets.models import Membership, Ticket

logger = logging.getLogger(__name__)


def _members(project_id: int) -> tuple[dict[int, fanout.Member], dict[int, str]]:
    """The project's members and each one's e-mail choice (``never`` without an address): one query."""
    rows = Membership.objects.filter(project_id=project_id).values_list(
        "user_id", "user__username", "role", "user__notification_preference__email", "user__email"
    )
    members = {uid: fanout.Member(uid, name, role) for uid, name, role, _, _ in rows}
    # Without an address there is nothing to mail: as good as "never".
    choices = {uid: (choice or DEFAULT_EMAIL) if address else EmailChoice.NEVER for uid, _, _, choice, address in rows}
    return members, choices


def _url(event: events.Event, ticket_key: str | None) -> str:
    payload = event.payload
    if event.type == events.EVALUATION_FINISHED:
        return reverse("evaluation-detail", args=[event.project_key, payload["evaluation"]])
    if event.type == events.CHAMPION_PROMOTED:
        return reverse("benchmark-detail", args=[event.project_key, payload["benchmark"]])
    if event.type in (events.SPRINT_STARTED, events.SPRINT_CLOSED):
        return reverse("sprint-detail", args=[event.project_key, payload["sprint"]])
    if event.type == events.WEBHOOK_DISABLED:
        return reverse("webhooks", args=[event.project_key])
    return reverse("ticket-detail", args=[ticket_key]) if ticket_key else ""


def notifications_for_event(event: events.Event) -> list[Notification]:
    """Write the notifications (and new watchers) ``event`` calls for; queue immediate e-mail."""
    if event.type not in fanout.HANDLED:
        return []
    ticket_key = event.payload.get("ticket") if event.type in fanout.TICKET_EVENTS else None
    ticket = None
    watchers: set[int] = set()
    if ticket_key:
        _, number = parse_ticket_key(ticket_key)
        ticket = Ticket.objects.filter(project_id=event.project_id, number=number).only("id", "description").first()
        if ticket is not None:
            watchers = set(Watcher.objects.filter(ticket=ticket).values_list("user_id", flat=True))
    members, choices = _members(event.project_id)
    names = {m.username: m.id for m in members.values()}
    result = fanout.plan(
        event.type,
        event.payload,
        actor_id=event.actor_id,
        actor_name=event.actor_username,
        members=members,
        watchers=watchers,
        mentioned=lambda text: mentioned_names(text, names),
        ticket_text=ticket.description if ticket is not None and event.type == events.TICKET_CREATED else "",
    )
    if ticket is not None and result.watch - watchers:
        Watcher.objects.bulk_create(
            [Watcher(ticket=ticket, user_id=uid) for uid in sorted(result.watch - watchers)], ignore_conflicts=True
        )
    if not result.notify:
        return []
    url = _url(event, ticket_key)
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=uid, project_id=event.project_id, ticket=ticket, actor_id=event.actor_id,
                kind=kind, text=text[:500], url=url, event_id=event.id, created_at=event.occurred_at,
                # Nobody will mail these: marked now so the digest never looks at them.
                emailed_at=event.occurred_at if choices.get(uid) == EmailChoice.NEVER else None,
            )
            for uid, (kind, text) in sorted(result.notify.items())
        ]
    )  # fmt: skip
    immediate = [row.pk for row in rows if choices.get(row.recipient_id) == EmailChoice.IMMEDIATELY]
    if immediate:
        transaction.on_commit(lambda: _queue_emails(immediate))
    return rows


def _queue_emails(notification_ids: list[int]) -> None:
    from inbox.tasks import notification_emails_send

    try:
        notification_emails_send.delay(notification_ids)
    except Exception:  # the broker is down: the change is made, mail waits for the daily check
        logger.exception("Could not queue e-mail for notifications %s", notification_ids)


# --- Watching ------------------------------------------------------------------------------
def ticket_watch(*, ticket: Ticket, user: AbstractBaseUser) -> None:
    Watcher.objects.get_or_create(ticket=ticket, user=user)


def ticket_unwatch(*, ticket: Ticket, user: AbstractBaseUser) -> None:
    Watcher.objects.filter(ticket=ticket, user=user).delete()


# --- Reading ---------------------------------------------------------------------------------
def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: AbstractBaseUser) -> int:
    """Mark every unread notification of ``user`` read; how many were unread."""
    return Notification.objects.filter(recipient=user, read_at=None).update(read_at=timezone.now())


def preference_set(*, user: AbstractBaseUser, email: str) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"email": email})
    return preference


# --- E-mail ----------------------------------------------------------------------------------
def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url else settings.SITE_URL


def _settings_line() -> str:
    return f"Change how you get these: {_absolute(reverse('account-notifications'))}\n"


def _claim(ids: list[int]) -> list[Notification]:
    """Take the notifications not yet e-mailed (one conditional update), so a second run sends nothing."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, emailed_at=None)
            .select_related("recipient", "project")
        )
        Notification.objects.filter(pk__in=[r.pk for r in rows], emailed_at=None).update(emailed_at=timezone.now())
    return rows


def notification_emails_send(*, notification_ids: list[int]) -> int:
    """E-mail each of these notifications to its recipient (those who still want mail at once); how many sent."""
    rows = [
        r for r in _claim(notification_ids) if r.recipient.email and _choice(r.recipient) == EmailChoice.IMMEDIATELY
    ]
    messages = [
        EmailMessage(
            subject=f"[{row.project.key}] {row.text[:120]}",
            body=f"{row.text}\n\n{_absolute(row.url)}\n\n{_settings_line()}",
            to=[row.recipient.email],
        )
        for row in rows
    ]
    return get_connection().send_messages(messages) or 0 if messages else 0


def _choice(user: AbstractBaseUser) -> str:
    try:
        return user.notification_preference.email
    except NotificationPreference.DoesNotExist:
        return DEFAULT_EMAIL


def notification_digest_send() -> int:
    """One e-mail per user who chose the daily digest, listing what they have not been mailed; how many sent."""
    wants_digest = Q(recipient__notification_preference__email=EmailChoice.DAILY)
    ids = list(Notification.objects.filter(wants_digest, emailed_at=None).values_list("pk", flat=True))
    if not ids:
        return 0
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for row in _claim(ids):
        by_user[row.recipient_id].append(row)
    sent = 0
    for rows in by_user.values():
        user = rows[0].recipient
        if not user.email:
            continue
        lines = [
            f"- [{r.project.key}] {r.text}\n  {_absolute(r.url)}" for r in sorted(rows, key=lambda r: r.created_at)
        ]
        sent += send_mail(
            subject=f"AgileML: {len(rows)} notification{'s' if len(rows) != 1 else ''} today",
            message="\n".join(lines) + f"\n\n{_settings_line()}",
            from_email=None,
            recipient_list=[user.email],
        )
    return sent
