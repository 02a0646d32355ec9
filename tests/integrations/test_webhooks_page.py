"""The webhooks page: leads register endpoints, see deliveries and redeliver; others are refused."""

from __future__ import annotations

import pytest

from agileml import events
from integrations.git.models import GitSettings
from integrations.webhooks import services
from integrations.webhooks.models import Delivery, DeliveryStatus, Webhook
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db
PAGE = "/p/AUTH/webhooks/"


def _make(cast, **kwargs):
    values = {"url": "https://example.com/hook", "events": [events.TICKET_CREATED]} | kwargs
    return services.webhook_create(project=cast.project, actor=cast.lead, **values)


def test_a_lead_creates_an_endpoint_and_sees_its_secret_once(cast, web):
    client = web(cast.lead)
    response = client.post(
        PAGE, {"name": "x');alert(1);('", "url": "https://example.com/h?a=1&b=<2>", "kind": "slack",
               "events": ["ticket.created", "comment.created"]},
    )  # fmt: skip
    assert response.status_code == 201
    webhook = Webhook.objects.get()
    assert webhook.secret.encode() in response.content
    assert b"x&#x27;);alert(1);(&#x27;" in response.content and b"alert(1);('" not in response.content
    assert b"&amp;b=&lt;2&gt;" in response.content
    again = client.get(PAGE)
    assert webhook.secret.encode() not in again.content and webhook.secret[:4].encode() in again.content


def test_a_bad_url_is_refused_with_a_message_and_nothing_saved(cast, web, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = web(cast.lead).post(
        PAGE, {"url": "http://169.254.169.254/", "events": ["ticket.created"], "kind": "generic"}
    )
    assert response.status_code == 400
    assert b'data-testid="url-error"' in response.content and b"not a public address" in response.content
    assert not Webhook.objects.exists()
    no_events = web(cast.lead).post(PAGE, {"url": "https://e.com/", "kind": "generic"})
    assert no_events.status_code == 400 and b"Choose at least one event." in no_events.content


def test_deliveries_are_shown_and_redelivered(cast, web):
    webhook = _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=4, response_code=502)
    page = web(cast.lead).get(PAGE)
    assert delivery.uid.hex.encode() in page.content and b"502" in page.content
    response = web(cast.lead).post(f"{PAGE}{webhook.pk}/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 4


def test_a_lead_turns_an_endpoint_off_and_deletes_it(cast, web):
    webhook = _make(cast)
    web(cast.lead).post(f"{PAGE}{webhook.pk}/toggle/")
    webhook.refresh_from_db()
    assert not webhook.active
    web(cast.lead).post(f"{PAGE}{webhook.pk}/delete/")
    assert not Webhook.objects.exists()


def test_the_page_costs_the_same_number_of_queries_for_many_endpoints(cast, web, django_assert_num_queries):
    client = web(cast.lead)
    for _ in range(2):
        _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    client.get(PAGE)
    # session, user, memberships with projects (access; they fill the switcher too), endpoints,
    # deliveries, git settings
    with django_assert_num_queries(6):
        client.get(PAGE)
    for _ in range(4):
        _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T2", work_type="review")
    with django_assert_num_queries(6):
        assert client.get(PAGE).content.count(b'data-testid="webhook"') == 6


@pytest.mark.parametrize(("who", "status"), [("engineer", 403), ("stakeholder", 403), ("outsider", 404)])
def test_only_leads_use_the_page(cast, web, who, status):
    webhook = _make(cast)
    ticket_services.ticket_create(project=cast.project, actor=cast.lead, title="T", work_type="review")
    delivery = Delivery.objects.get()
    client = web(cast.user(who))
    calls = [
        client.get(PAGE),
        client.post(PAGE, {"url": "https://e.com/", "events": ["ticket.created"], "kind": "generic"}),
        client.post(f"{PAGE}{webhook.pk}/toggle/"),
        client.post(f"{PAGE}{webhook.pk}/deliveries/{delivery.pk}/redeliver/"),
        client.post(f"{PAGE}{webhook.pk}/delete/"),
        client.post("/p/AUTH/git/secret/"),
        client.post("/p/AUTH/git/rules/", {"review_on_open": "on"}),
    ]
    assert [c.status_code for c in calls] == [status] * len(calls)
    webhook.refresh_from_db()
    assert webhook.active and Webhook.objects.count() == 1
    assert not GitSettings.objects.exists()
    anonymous = web(None).get(PAGE)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
