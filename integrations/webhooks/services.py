"""Outgoing webhooks: registering endpoints, queueing deliveries when events happen, sending them.

The delivery row is the source of truth (a durable outbox): :func:`webhooks_on_event` writes one per
matching endpoint inside the event's transaction and queues a message after commit; whoever sends
claims the row first (a conditional update of ``next_attempt_at``), so a message sent twice, or a
sweeper racing a worker, sends once. A failed attempt is retried with exponential back-off until
``WEBHOOK_RETRY_SECONDS`` after the event; the sweeper (:func:`webhook_sweep`, run by celery beat)
sends whatever is due, including first attempts whose message was lost.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from agileml import events
from integrations.webhooks import netguard, payloads, sender
from integrations.webhooks.models import Delivery, DeliveryStatus, Webhook, WebhookKind
from tickets.models import Project

logger = logging.getLogger(__name__)

UNSET: Any = object()
SECRET_MIN_LENGTH = 16
FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 3600
SWEEP_BATCH = 500


# --- Endpoints ---------------------------------------------------------------------------------------
def _clean_url(url: str) -> str:
    try:
        netguard.check_registration(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except netguard.Refused as refused:
        raise ValidationError({"url": str(refused)}) from None
    return url.strip()


def _clean_events(chosen: list[str]) -> list[str]:
    if not isinstance(chosen, list | tuple) or not chosen:
        raise ValidationError({"events": f"Choose at least one event: {', '.join(events.TYPES)}."})
    unknown = [str(e) for e in chosen if e not in events.TYPES]
    if unknown:
        raise ValidationError(
            {"events": f"{', '.join(unknown)} is not an event type; choose from {', '.join(events.TYPES)}."}
        )
    return [e for e in events.TYPES if e in chosen]


def _clean_secret(secret: str | None) -> str:
    if secret is None or secret == "":
        return secrets.token_urlsafe(32)
    secret = str(secret).strip()
    if len(secret) < SECRET_MIN_LENGTH or len(secret) > 200:
        raise ValidationError({"secret": f"The secret must be {SECRET_MIN_LENGTH} to 200 characters long."})
    return secret


def _clean_kind(kind: str) -> str:
    if kind not in WebhookKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a kind; use one of {', '.join(WebhookKind.values)}."})
    return kind


def webhook_create(
    *,
    project: Project,
    actor: AbstractBaseUser | None,
    url: str,
    events: list[str],
    kind: str = WebhookKind.GENERIC,
    name: str = "",
    secret: str | None = None,
    active: bool = True,
) -> Webhook:
    """Register an endpoint; without ``secret`` one is generated (the caller shows it once)."""
    webhook = Webhook(
        project=project,
        name=(name or "").strip()[:120],
        url=_clean_url(url),
        events=_clean_events(events),
        kind=_clean_kind(kind),
        secret=_clean_secret(secret),
        active=bool(active),
        created_by=actor,
    )
    webhook.save()
    return webhook


def webhook_update(
    *,
    webhook: Webhook,
    url: str = UNSET,
    events: list[str] = UNSET,
    kind: str = UNSET,
    name: str = UNSET,
    secret: str | None = UNSET,
    active: bool = UNSET,
) -> Webhook:
    """Change an endpoint. ``secret=None`` (or "") makes a new one. Turning an endpoint back on forgets
    its failures, so it gets a fresh day before it is disabled again."""
    fields: list[str] = []
    for field, value, clean in (
        ("url", url, _clean_url),
        ("events", events, _clean_events),
        ("kind", kind, _clean_kind),
        ("name", name, lambda v: (v or "").strip()[:120]),
        ("secret", secret, _clean_secret),
    ):
        if value is not UNSET:
            setattr(webhook, field, clean(value))
            fields.append(field)
    if active is not UNSET and bool(active) != webhook.active:
        webhook.active = bool(active)
        if webhook.active:
            webhook.failing_since = webhook.disabled_at = None
            webhook.disabled_reason = ""
            fields += ["failing_since", "disabled_at", "disabled_reason"]
        fields.append("active")
    if fields:
        webhook.save(update_fields=fields)
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


# --- Queueing deliveries -----------------------------------------------------------------------------
def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def event_url(event: events.Event) -> str | None:
    """The page an event is about, as an absolute link (the ticket, the evaluation, the sprint)."""
    data = event.payload
    try:
        if event.type in (events.EVALUATION_FINISHED, events.CHAMPION_PROMOTED) and data.get("evaluation"):
            return _absolute(reverse("evaluation-detail", args=[event.project_key, data["evaluation"]]))
        if data.get("ticket"):
            return _absolute(reverse("ticket-detail", args=[data["ticket"]]))
        if data.get("sprint"):
            return _absolute(reverse("sprint-detail", args=[event.project_key, data["sprint"]]))
        return _absolute(reverse("project-home", args=[event.project_key]))
    except NoReverseMatch:
        return None


def delivery_body(event: events.Event, kind: str) -> str:
    envelope = event.as_dict()
    url = event_url(event)
    body = payloads.slack_body(envelope, url) if kind == WebhookKind.SLACK else payloads.generic_body(envelope, url)
    return payloads.encode(body)


def webhooks_on_event(event: events.Event) -> None:
    """Subscriber to every domain event: a delivery per active endpoint of the project that wants it."""
    hooks = [h for h in Webhook.objects.filter(project_id=event.project_id, active=True) if event.type in h.events]
    if not hooks:
        return
    now = timezone.now()
    bodies: dict[str, str] = {}
    rows = []
    for hook in hooks:
        if hook.kind not in bodies:
            bodies[hook.kind] = delivery_body(event, hook.kind)
        rows.append(
            Delivery(
                webhook=hook,
                event_type=event.type,
                event_id=event.id,
                body=bodies[hook.kind],
                next_attempt_at=now,
                created_at=now,
            )
        )
    created = Delivery.objects.bulk_create(rows)
    ids = [d.pk for d in created if d.pk is not None] or list(
        Delivery.objects.filter(event_id=event.id).values_list("pk", flat=True)
    )
    # After commit: a message per delivery. If the broker is down, the sweeper sends them later.
    transaction.on_commit(lambda: _enqueue(ids), robust=True)


def _enqueue(ids: list[int]) -> None:
    from integrations.tasks import webhook_deliver

    for pk in ids:
        webhook_deliver.delay(pk)


# --- Sending -----------------------------------------------------------------------------------------
def retry_delay(attempts: int) -> datetime.timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, … doubling up to an hour."""
    seconds = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS)
    return datetime.timedelta(seconds=seconds)


def _headers(delivery: Delivery, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "AgileML-Webhooks/1",
        "X-AgileML-Event": delivery.event_type,
        "X-AgileML-Delivery": delivery.uid.hex,
        "X-AgileML-Signature": payloads.sign(body, delivery.webhook.secret),
    }


def _send(delivery: Delivery) -> sender.Answer:
    body = delivery.body.encode()
    try:
        target = netguard.parse_target(delivery.webhook.url)
        address = netguard.resolve(target, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except netguard.Refused as refused:
        return sender.Answer(None, 0, str(refused))
    return sender.post(target, address, body, _headers(delivery, body), timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


def delivery_attempt(*, delivery_id: int, now: datetime.datetime | None = None) -> Delivery | None:
    """Send delivery ``delivery_id`` if it is due and nobody else is sending it; None otherwise.

    Safe to call twice: the claim moves ``next_attempt_at`` past the send's timeout first, so a
    second caller finds nothing due.
    """
    now = now or timezone.now()
    lease = now + datetime.timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS + 10)
    # Every condition on the delivery's own row, none through a join: PostgreSQL re-checks a row that a
    # concurrent claim changed only against the row's own conditions. With ``webhook__active`` Django
    # moves the whole filter into an ``id IN (subquery)`` that is not re-checked, and both claims won.
    claimed = Delivery.objects.filter(
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        webhook_id__in=Webhook.objects.filter(active=True).values("pk"),
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    answer = _send(delivery)
    return _record(delivery, answer, now)


def _record(delivery: Delivery, answer: sender.Answer, now: datetime.datetime) -> Delivery:
    window = datetime.timedelta(seconds=settings.WEBHOOK_RETRY_SECONDS)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code = answer.status
    delivery.duration_ms = answer.duration_ms
    delivery.error = answer.error or ("" if answer.ok else f"The receiver answered {answer.status}.")
    hook = delivery.webhook
    with transaction.atomic():
        if answer.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.next_attempt_at = None
            Webhook.objects.filter(pk=hook.pk, failing_since__isnull=False).update(failing_since=None)
        else:
            if now - delivery.created_at >= window:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            _note_failure(hook, delivery, now, window)
        # An update, not a save: the endpoint (and so this row) may have been deleted while sending.
        Delivery.objects.filter(pk=delivery.pk).update(
            attempts=delivery.attempts, last_attempt_at=now, response_code=answer.status,
            duration_ms=answer.duration_ms, error=delivery.error, status=delivery.status,
            next_attempt_at=delivery.next_attempt_at,
        )  # fmt: skip
    return delivery


def _note_failure(hook: Webhook, delivery: Delivery, now: datetime.datetime, window: datetime.timedelta) -> None:
    """Remember since when the endpoint fails; after a whole window of failures, turn it off."""
    Webhook.objects.filter(pk=hook.pk, failing_since__isnull=True).update(failing_since=now)
    since = Webhook.objects.filter(pk=hook.pk).values_list("failing_since", flat=True).first()
    if since is None or now - since < window:
        return
    reason = (
        f"Turned off on {now:%Y-%m-%d %H:%M} UTC: every delivery since {since:%Y-%m-%d %H:%M} UTC failed "
        f"(last: {delivery.error[:200]}). Fix the receiver, then turn the endpoint on again."
    )
    turned_off = Webhook.objects.filter(pk=hook.pk, active=True).update(
        active=False, disabled_at=now, disabled_reason=reason
    )
    if turned_off:
        logger.warning("Webhook %s of project %s disabled after a day of failures", hook.pk, hook.project_id)
        # The project's leads hear of it (in their inbox); the endpoint's page shows the banner.
        events.publish(
            events.WEBHOOK_DISABLED,
            project=Project.objects.get(pk=hook.project_id),
            actor=None,
            at=now,
            payload={"webhook": hook.pk, "url": hook.url, "reason": reason},
        )


def webhook_sweep(*, now: datetime.datetime | None = None, send: Callable[[int], object] | None = None) -> list[int]:
    """Send every delivery that is due (retries, and first attempts whose message was lost).

    ``send(pk)`` queues one (default: a Celery message per delivery); tests pass an inline sender.
    """
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, webhook__active=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if send is None:
        _enqueue(due)
    else:
        for pk in due:
            send(pk)
    return due


def delivery_redeliver(*, delivery: Delivery, actor: AbstractBaseUser | None) -> Delivery:
    """A new attempt of the same delivery (same id and body), queued now."""
    if not delivery.webhook.active:
        raise ValidationError("This endpoint is turned off; turn it on before redelivering.")
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, next_attempt_at=now)
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now
    transaction.on_commit(lambda: _enqueue([delivery.pk]), robust=True)
    return delivery
