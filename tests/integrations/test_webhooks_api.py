"""The webhooks API: leads manage endpoints and see deliveries; nobody else does."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from agileml import events
from integrations.webhooks import services
from integrations.webhooks.models import Delivery, Webhook
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db
LIST = "/api/v1/projects/AUTH/webhooks/"


def _make(cast, **kwargs):
    values = {"url": "https://example.com/hook", "events": [events.TICKET_CREATED]} | kwargs
    return services.webhook_create(project=cast.project, actor=cast.lead, **values)


def test_a_lead_registers_an_endpoint_and_sees_the_secret_once(cast, api):
    response = api(cast.lead).post(
        LIST,
        {"url": "https://chat.example.com/hooks/x", "events": ["ticket.created", "evaluation.finished"],
         "kind": "slack", "name": "Team chat"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    webhook = Webhook.objects.get()
    assert body["secret"] == webhook.secret and len(webhook.secret) >= 32
    assert body["events"] == ["ticket.created", "evaluation.finished"] and body["kind"] == "slack"
    listed = api(cast.lead).get(LIST).json()
    assert [h["id"] for h in listed] == [webhook.pk]
    assert "secret" not in listed[0] and listed[0]["secret_hint"] == webhook.secret[:4] + "…"
    assert "secret" not in api(cast.lead).get(f"{LIST}{webhook.pk}/").json()


def test_a_given_secret_is_kept_and_a_short_one_refused(cast, api):
    ok = api(cast.lead).post(
        LIST, {"url": "https://e.com/h", "events": ["ticket.created"], "secret": "x" * 20}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["secret"] == "x" * 20
    short = api(cast.lead).post(
        LIST, {"url": "https://e.com/h", "events": ["ticket.created"], "secret": "short-one"}, format="json"
    )
    assert short.status_code == 400 and "secret" in short.json()["message"]
    assert Webhook.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"url": "http://127.0.0.1:8000/x", "events": ["ticket.created"]}, "url"),
        ({"url": "file:///etc/passwd", "events": ["ticket.created"]}, "url"),
        ({"url": "https://e.com/h", "events": []}, "events"),
        ({"url": "https://e.com/h", "events": ["ticket.exploded"]}, "events"),
        ({"url": "https://e.com/h", "events": ["ticket.created"], "kind": "teams"}, "kind"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_field(cast, api, settings, data, field):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = api(cast.lead).post(LIST, data, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(field)
    assert not Webhook.objects.exists()


def test_a_lead_changes_turns_off_and_deletes_an_endpoint(cast, api):
    webhook = _make(cast)
    url = f"{LIST}{webhook.pk}/"
    changed = api(cast.lead).patch(url, {"events": ["sprint.started"], "active": False}, format="json")
    assert changed.status_code == 200 and "secret" not in changed.json()
    webhook.refresh_from_db()
    assert (webhook.events, webhook.active) == (["sprint.started"], False)
    rotated = api(cast.lead).patch(url, {"secret": None}, format="json")
    assert rotated.json()["secret"] != webhook.secret
    assert api(cast.lead).delete(url).status_code == 204
    assert not Webhook.objects.exists()


def test_deliveries_are_listed_and_redelivered(cast, api):
    webhook = _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    delivery = Delivery.objects.get()
    listed = api(cast.lead).get(f"{LIST}{webhook.pk}/deliveries/").json()["results"]
    assert [(d["delivery"], d["event"], d["status"]) for d in listed] == [
        (delivery.uid.hex, "ticket.created", "pending")
    ]
    redelivered = api(cast.lead).post(f"{LIST}{webhook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert redelivered.status_code == 202 and redelivered.json()["delivery"] == delivery.uid.hex
    services.webhook_update(webhook=webhook, active=False)
    refused = api(cast.lead).post(f"{LIST}{webhook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert refused.status_code == 400 and "turned off" in refused.json()["message"]
    other = _make(cast)
    # A delivery is found only under its own endpoint.
    assert api(cast.lead).post(f"{LIST}{other.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404


def test_the_list_costs_the_same_number_of_queries_for_many_endpoints(cast, api, django_assert_num_queries):
    for _ in range(3):
        _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    client = api(cast.lead)
    # token → user, membership (with project), endpoints, their recent deliveries
    with django_assert_num_queries(4):
        first = client.get(LIST)
    for _ in range(5):
        _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T2", work_type="review")
    with django_assert_num_queries(4):
        second = client.get(LIST)
    assert len(first.json()) == 3 and len(second.json()) == 8
    assert sum(len(h["recent_deliveries"]) for h in second.json()) == 3 * 2 + 5


def _deliveries(webhook, count: int, *, start: int = 0) -> list[int]:
    """``count`` deliveries of ``webhook``, a minute apart (later ``start`` means newer); their ids, oldest first."""
    base = timezone.now() - datetime.timedelta(days=1)
    rows = [
        Delivery(
            webhook=webhook,
            event_type=events.TICKET_CREATED,
            event_id=f"e{n}",
            body="{}",
            created_at=base + datetime.timedelta(minutes=n),
        )
        for n in range(start, start + count)
    ]
    return [d.pk for d in Delivery.objects.bulk_create(rows)]


def test_deliveries_page_newest_first(cast, api):
    webhook = _make(cast)
    made = _deliveries(webhook, 5)
    _deliveries(_make(cast), 2)  # another endpoint's: not listed
    client = api(cast.lead)
    first = client.get(f"{LIST}{webhook.pk}/deliveries/?page_size=3").json()
    assert first["count"] == 5 and first["previous"] is None and len(first["results"]) == 3
    second = client.get(first["next"]).json()
    assert second["next"] is None and second["previous"] is not None
    assert [d["id"] for d in first["results"] + second["results"]] == made[::-1]


def test_the_deliveries_cost_the_same_number_of_queries_for_many(cast, api, django_assert_num_queries):
    webhook = _make(cast)
    _deliveries(webhook, 2)
    client = api(cast.lead)
    url = f"{LIST}{webhook.pk}/deliveries/"
    # token → user, membership (with project), endpoint, count, one page
    with django_assert_num_queries(5):
        assert client.get(url).json()["count"] == 2
    _deliveries(webhook, 60, start=2)
    with django_assert_num_queries(5):
        page = client.get(url).json()
    assert page["count"] == 62 and len(page["results"]) == 50 and page["results"][0]["event"] == "ticket.created"


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("outsider", 404), ("stakeholder", 403), ("engineer", 403), ("lead", 200)],
)
def test_deliveries_list_role_matrix(cast, api, who, status):
    webhook = _make(cast)
    _deliveries(webhook, 1)
    response = api(cast.user(who) if who else None).get(f"{LIST}{webhook.pk}/deliveries/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["count"] == 1 and len(response.json()["results"]) == 1


@pytest.mark.parametrize(("who", "status"), [("engineer", 403), ("stakeholder", 403), ("outsider", 404)])
def test_only_leads_read_or_change_webhooks(cast, api, who, status):
    webhook = _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    delivery = Delivery.objects.get()
    client = api(cast.user(who))
    detail = f"{LIST}{webhook.pk}/"
    calls = [
        client.get(LIST),
        client.post(LIST, {"url": "https://e.com/h", "events": ["ticket.created"]}, format="json"),
        client.get(detail),
        client.patch(detail, {"active": False}, format="json"),
        client.delete(detail),
        client.get(f"{detail}deliveries/"),
        client.post(f"{detail}deliveries/{delivery.pk}/redeliver/"),
    ]
    assert [c.status_code for c in calls] == [status] * len(calls)
    webhook.refresh_from_db()
    assert webhook.active and Webhook.objects.count() == 1
    assert api(None).get(LIST).status_code == 401
