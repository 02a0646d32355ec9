"""A real worker sends deliveries after the change commits, and the sweeper finds rows whose message was lost."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from agileml import events
from integrations.tasks import webhook_sweep
from integrations.webhooks import services
from integrations.webhooks.models import Delivery, DeliveryStatus
from tests.conftest import wait_until
from tickets import services as ticket_services

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_delivers_after_commit(cast, receiver, celery_worker):
    r = receiver()
    # The receiver is on this machine: allowed here and in the worker (tests/conftest.py).
    with override_settings(WEBHOOK_ALLOW_PRIVATE=True):
        hook = services.webhook_create(project=cast.project, actor=cast.lead, url=r.url, events=[events.TICKET_CREATED])
    ticket = ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="Ship it", work_type="review")

    got = wait_until(lambda: r.requests, what="the delivery to reach the receiver")
    body = got[0].body
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert got[0].headers["X-AgileML-Signature"] == expected
    assert json.loads(body)["data"]["ticket"] == ticket.key
    delivery = wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).first(), what="the delivery to be recorded"
    )
    assert got[0].headers["X-AgileML-Delivery"] == delivery.uid.hex and delivery.attempts == 1


def test_the_sweeper_sends_a_delivery_whose_message_was_lost(cast, receiver, celery_worker):
    r = receiver()
    with override_settings(WEBHOOK_ALLOW_PRIVATE=True):
        hook = services.webhook_create(project=cast.project, actor=cast.lead, url=r.url, events=[events.SPRINT_CLOSED])
    # A row written without its message (as when the broker was down at commit time).
    delivery = Delivery.objects.create(
        webhook=hook, event_type="sprint.closed", event_id="lost", body='{"lost": true}', next_attempt_at=timezone.now()
    )
    webhook_sweep.delay()
    wait_until(lambda: r.requests, what="the swept delivery")
    assert r.requests[0].headers["X-AgileML-Delivery"] == delivery.uid.hex
    assert r.requests[0].body == b'{"lost": true}'
