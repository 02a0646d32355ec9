"""Deliveries reach a real local receiver: signed, retried with back-off, deduplicable, refused for
private addresses, and an endpoint failing for a day is turned off."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from agileml import events
from integrations.webhooks import netguard, sender, services
from integrations.webhooks.models import Delivery, DeliveryStatus, Webhook
from tickets import services as ticket_services
from tickets.models import TicketStatus

pytestmark = pytest.mark.django_db
SECRET = "s3cret-for-the-receiver-only"


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 5


def _hook(cast, url, **kwargs):
    values = {"events": [events.TICKET_CREATED, events.TICKET_STATUS_CHANGED], "secret": SECRET} | kwargs
    return services.webhook_create(project=cast.project, actor=cast.lead, url=url, **values)


def _sweep(now):
    """The sweeper, sending inline at ``now`` (no waiting on wall time)."""
    return services.webhook_sweep(now=now, send=lambda pk: services.delivery_attempt(delivery_id=pk, now=now))


def _verify(request, secret=SECRET) -> dict:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-AgileML-Signature"], expected)
    return json.loads(request.body)


def test_an_event_is_delivered_signed_with_its_headers(cast, receiver, allow_private, settings):
    settings.SITE_URL = "https://agileml.example.com"
    r = receiver()
    _hook(cast, r.url)
    ticket = ticket_services.ticket_create(
        project=cast.project, actor=cast.lead, title="Tune <b>&", work_type="algorithm_development"
    )
    (delivery,) = Delivery.objects.all()
    assert _sweep(timezone.now()) == [delivery.pk]

    (got,) = r.requests
    body = _verify(got)
    assert got.headers["X-AgileML-Event"] == "ticket.created"
    assert got.headers["X-AgileML-Delivery"] == delivery.uid.hex
    assert got.headers["Content-Type"] == "application/json"
    assert body["type"] == "ticket.created" and body["project"] == "AUTH" and body["actor"] == "lead"
    assert body["data"]["ticket"] == ticket.key and body["data"]["title"] == "Tune <b>&"
    assert body["url"] == f"https://agileml.example.com/t/{ticket.key}/"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.duration_ms is not None
    # Delivered: the sweeper finds nothing more to send.
    assert _sweep(timezone.now() + dt.timedelta(hours=1)) == []


def test_only_chosen_events_of_active_endpoints_are_queued(cast, receiver, allow_private):
    r = receiver()
    _hook(cast, r.url, events=[events.TICKET_STATUS_CHANGED])
    off = _hook(cast, r.url, events=[events.TICKET_CREATED], active=False)
    ticket = ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    assert not Delivery.objects.exists()
    ticket_services.ticket_transition(ticket=ticket, actor=cast.lead, status=TicketStatus.IN_PROGRESS)
    assert list(Delivery.objects.values_list("event_type", flat=True)) == ["ticket.status_changed"]
    assert not Delivery.objects.filter(webhook=off).exists()


def test_a_failed_delivery_is_retried_with_back_off_and_the_same_id(cast, receiver, allow_private):
    r = receiver(answers=[500, 503, 200])
    _hook(cast, r.url)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    (delivery,) = Delivery.objects.all()
    start = timezone.now()

    _sweep(start)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.next_attempt_at == start + dt.timedelta(seconds=30)
    assert "500" in delivery.error
    # Not due yet: nothing is sent.
    assert _sweep(start + dt.timedelta(seconds=29)) == []
    _sweep(start + dt.timedelta(seconds=30))
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == start + dt.timedelta(seconds=90)
    _sweep(start + dt.timedelta(seconds=90))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.DELIVERED, 3, 200)

    assert len(r.requests) == 3
    assert {q.headers["X-AgileML-Delivery"] for q in r.requests} == {delivery.uid.hex}
    assert len({q.body for q in r.requests}) == 1
    for q in r.requests:
        _verify(q)
    assert Webhook.objects.get().failing_since is None


def test_a_claimed_delivery_is_not_sent_twice(cast, receiver, allow_private):
    r = receiver()
    _hook(cast, r.url)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    (delivery,) = Delivery.objects.all()
    now = timezone.now()
    assert services.delivery_attempt(delivery_id=delivery.pk, now=now) is not None
    assert services.delivery_attempt(delivery_id=delivery.pk, now=now) is None
    assert len(r.requests) == 1


def test_an_endpoint_failing_for_a_day_is_turned_off(cast, receiver, allow_private, web):
    r = receiver(answers=[500])
    hook = _hook(cast, r.url, name="Ops <script>")
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    start = timezone.now()
    now = start
    while Webhook.objects.get(pk=hook.pk).active:
        _sweep(now)
        now += dt.timedelta(hours=1)
        assert now < start + dt.timedelta(hours=30), "the endpoint should be off after a day"
    hook.refresh_from_db()
    assert hook.disabled_at >= start + dt.timedelta(hours=24)
    assert "every delivery since" in hook.disabled_reason
    assert Delivery.objects.get().status == DeliveryStatus.FAILED
    # The lead sees why on the webhooks page.
    page = web(cast.lead).get("/p/AUTH/webhooks/")
    assert b'data-testid="disabled-banner"' in page.content and b"Ops &lt;script&gt;" in page.content
    # And hears of it in the inbox, with a link to that page; engineers and stakeholders do not.
    from inbox.models import Notification

    (told,) = Notification.objects.filter(kind="webhook_disabled")
    assert (told.recipient, told.url) == (cast.lead, "/p/AUTH/webhooks/")
    assert r.url in told.text and "turned off" in told.text
    # Events for a turned-off endpoint are not queued; turning it on again forgets the failures.
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T2", work_type="review")
    assert Delivery.objects.count() == 1
    services.webhook_update(webhook=hook, active=True)
    hook.refresh_from_db()
    assert (hook.active, hook.failing_since, hook.disabled_reason) == (True, None, "")


def test_one_success_resets_the_failing_day(cast, receiver, allow_private):
    r = receiver(answers=[500, 200, 500])
    hook = _hook(cast, r.url)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="A", work_type="review")
    start = timezone.now()
    _sweep(start)
    assert Webhook.objects.get(pk=hook.pk).failing_since == start
    _sweep(start + dt.timedelta(hours=1))
    assert Webhook.objects.get(pk=hook.pk).failing_since is None


def test_private_addresses_are_refused_when_not_allowed(cast, receiver, settings):
    r = receiver()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    _hook(cast, r.url)  # registered while allowed (a receiver on this machine) ...
    settings.WEBHOOK_ALLOW_PRIVATE = False
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    _sweep(timezone.now())
    # ... but with the setting off, the address is checked when sending and nothing is sent.
    assert r.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code is None
    assert "127.0.0.1" in delivery.error and "not a public address" in delivery.error


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http://", "no host"),
        ("http://localhost:8000/x", "localhost"),
        ("http://127.0.0.1/x", "not a public address"),
        ("http://10.1.2.3/x", "not a public address"),
        ("http://169.254.169.254/latest/meta-data", "not a public address"),
        ("http://[::1]/x", "not a public address"),
        ("http://[::ffff:127.0.0.1]/x", "not a public address"),
        ("http://0.0.0.0:8000/x", "not a public address"),
        ("http://100.64.0.1/x", "not a public address"),
        ("http://[fd00::1]/x", "not a public address"),
        ("http://user:pw@example.com/x", "user name or password"),
        ("https://exa mple.com/", "spaces"),
        ("", "Enter the URL"),
    ],
)
def test_obviously_bad_urls_are_refused_at_registration(cast, settings, url, message):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        _hook(cast, url)
    assert message in refused.value.message_dict["url"][0]
    assert not Webhook.objects.exists()


def test_names_resolving_to_private_addresses_are_refused_at_send_time(cast, receiver, settings):
    r = receiver()
    settings.WEBHOOK_ALLOW_PRIVATE = False
    hook = _hook(cast, "https://example.com/hook")
    # The name's addresses are checked when sending, whatever they were when it was registered.
    Webhook.objects.filter(pk=hook.pk).update(url=r.url.replace("127.0.0.1", "localhost"))
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    _sweep(timezone.now())
    assert r.requests == []
    delivery = Delivery.objects.get()
    assert delivery.response_code is None and "localhost resolves to" in delivery.error


def test_redeliver_sends_again_with_the_same_id(cast, receiver, allow_private):
    r = receiver()
    _hook(cast, r.url)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    _sweep(timezone.now())
    delivery = Delivery.objects.select_related("webhook").get()
    services.delivery_redeliver(delivery=delivery, actor=cast.lead)
    _sweep(timezone.now())
    assert [q.headers["X-AgileML-Delivery"] for q in r.requests] == [delivery.uid.hex] * 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_a_delivery_rolls_back_with_its_change(cast, allow_private):
    from django.db import transaction

    _hook(cast, "https://example.com/hook")
    seen = []

    def change_that_fails():
        with transaction.atomic():
            ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
            seen.append(Delivery.objects.count())
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert seen == [1]
    assert not Delivery.objects.exists()


def test_the_request_goes_to_the_checked_address_with_the_urls_host(receiver):
    """No second name lookup between the check and the connection (DNS rebinding): the sender
    connects to the address it is given and keeps the URL's host in the Host header."""
    r = receiver()
    port = r.server.server_address[1]
    target = netguard.parse_target(f"http://hooks.example.com:{port}/in?x=1")
    answer = sender.post(target, "127.0.0.1", b"{}", {"X-AgileML-Event": "ping"}, timeout=5)
    assert answer.ok and answer.status == 200
    (got,) = r.requests
    assert got.headers["Host"] == f"hooks.example.com:{port}" and got.path == "/in?x=1"


def test_redirects_are_not_followed(cast, receiver, allow_private):
    r = receiver(answers=[302])
    _hook(cast, r.url)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    _sweep(timezone.now())
    delivery = Delivery.objects.get()
    assert len(r.requests) == 1 and delivery.response_code == 302 and delivery.status == DeliveryStatus.PENDING
