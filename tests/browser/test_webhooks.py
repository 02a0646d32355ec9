"""The webhooks page in a browser: a lead adds an endpoint, sees its deliveries and redelivers one."""

from __future__ import annotations

import datetime
import hashlib
import hmac

import pytest
from django.utils import timezone

from integrations.webhooks import services
from integrations.webhooks.models import Delivery, Webhook
from tests.browser.conftest import login
from tests.conftest import wait_until
from tests.integrations.receiver import Receiver
from tickets import services as ticket_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HOSTILE = "x');alert(1);('"


def _sweep():
    now = timezone.now()
    services.webhook_sweep(now=now, send=lambda pk: services.delivery_attempt(delivery_id=pk, now=now))


def test_a_lead_adds_a_webhook_sees_deliveries_and_redelivers(page, cast, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver(answers=[500, 200]).start()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        login(page, "lead")
        page.goto("/p/AUTH/webhooks/")
        page.fill("#id_name", HOSTILE)
        page.fill("#id_url", receiver.url + "?q=" + HOSTILE)
        page.select_option("#id_kind", "generic")
        page.get_by_label("ticket.created").check()
        page.click("[data-testid=create-webhook]")
        created = page.locator("[data-testid=created-webhook]")
        created.wait_for()
        webhook = Webhook.objects.get()
        assert page.input_value("#new-webhook-secret") == webhook.secret
        card = page.locator("[data-testid=webhook]")
        assert card.locator("[data-testid=webhook-name]").inner_text() == HOSTILE

        ticket_services.ticket_create(project=cast.project, actor=cast.lead, title=HOSTILE, work_type="review")
        _sweep()  # the receiver answers 500 first (or the session's worker sends it: the same one attempt)
        wait_until(lambda: Delivery.objects.filter(attempts=1).exists(), what="the first attempt")
        # The automatic retry comes 30 s after a failure; on a slow machine it could beat the lead's click
        # and make the redelivery a third request. Here the lead redelivers before any retry is due.
        Delivery.objects.update(next_attempt_at=timezone.now() + datetime.timedelta(hours=1))
        page.goto("/p/AUTH/webhooks/")
        row = page.locator("[data-testid=deliveries] tbody tr")
        assert row.count() == 1
        assert row.locator("[data-col=code]").inner_text() == "500"
        assert "Pending" in row.inner_text()
        assert webhook.secret not in page.content()

        row.locator("[data-testid=redeliver]").click()
        page.get_by_text("is queued again").wait_for()
        _sweep()
        page.reload()
        row = page.locator("[data-testid=deliveries] tbody tr")
        assert row.locator("[data-col=code]").inner_text() == "200"
        assert "Delivered" in row.inner_text()
        delivery = Delivery.objects.get()
        assert [r.headers["X-AgileML-Delivery"] for r in receiver.requests] == [delivery.uid.hex] * 2
        for r in receiver.requests:
            expected = "sha256=" + hmac.new(webhook.secret.encode(), r.body, hashlib.sha256).hexdigest()
            assert r.headers["X-AgileML-Signature"] == expected

        # A phone-sized screen: nothing wider than the viewport, the controls still there.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("[data-testid=redeliver]").is_visible()
        assert page.locator("[data-testid=create-webhook]").count() == 1
        assert dialogs == []
    finally:
        receiver.stop()


def test_a_refused_url_is_explained_in_the_form(page, cast, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    login(page, "lead")
    page.goto("/p/AUTH/webhooks/")
    page.fill("#id_url", "http://169.254.169.254/latest/meta-data")
    page.get_by_label("sprint.started").check()
    page.click("[data-testid=create-webhook]")
    error = page.locator("[data-testid=url-error]")
    error.wait_for()
    assert "not a public address" in error.inner_text()
    assert not Webhook.objects.exists()
