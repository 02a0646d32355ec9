"""Two senders claiming one delivery at the same moment: one sends, the other finds nothing due.

Real concurrency on PostgreSQL: the first sender claims and sends inside a transaction it keeps open;
the second sender's claim waits on the row lock (seen in ``pg_stat_activity``), and only then does the
first commit. The second must re-check the row it waited for (already claimed and delivered) and send
nothing. A claim whose conditions sat in a subquery (``webhook__active`` makes Django write one) was
not re-checked, and the receiver was sent the delivery twice.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from agileml import events
from integrations.webhooks import services
from integrations.webhooks.models import Delivery, DeliveryStatus
from tests.conftest import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def _due_delivery(hook) -> Delivery:
    """A delivery due now, written as an event would write it, but with no message queued: a worker
    the session started earlier would take it, and this test is about two senders it controls."""
    now = timezone.now()
    return Delivery.objects.create(
        webhook=hook,
        event_type=events.TICKET_CREATED,
        event_id=uuid.uuid4().hex,
        body=json.dumps({"event": events.TICKET_CREATED}),
        next_attempt_at=now,
        created_at=now,
    )


def test_a_second_sender_waiting_on_the_claim_sends_nothing(cast, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    r = receiver()
    hook = services.webhook_create(project=cast.project, actor=cast.lead, url=r.url, events=[events.TICKET_CREATED])
    delivery = _due_delivery(hook)
    now = timezone.now()
    results: dict[str, object] = {}
    first_sent, release = threading.Event(), threading.Event()

    def first():
        try:
            with transaction.atomic():
                results["first"] = services.delivery_attempt(delivery_id=delivery.pk, now=now)
                first_sent.set()
                release.wait(60)
        finally:
            connections.close_all()

    def second():
        try:
            results["second"] = services.delivery_attempt(delivery_id=delivery.pk, now=now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    try:
        assert first_sent.wait(30), "the first sender did not send"
        threads.append(threading.Thread(target=second))
        threads[1].start()
        wait_until(_someone_waits_for_a_lock, timeout=30, what="the second sender to wait on the claim")
    finally:
        release.set()
        for t in threads:
            t.join(60)

    assert results["first"] is not None
    assert results["second"] is None
    assert len(r.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.DELIVERED, 1, 200)


def test_a_turned_off_endpoint_is_not_claimed(cast, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    r = receiver()
    hook = services.webhook_create(project=cast.project, actor=cast.lead, url=r.url, events=[events.TICKET_CREATED])
    delivery = _due_delivery(hook)
    hook.active = False
    hook.save(update_fields=["active"])
    assert services.delivery_attempt(delivery_id=delivery.pk, now=timezone.now()) is None
    assert r.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
