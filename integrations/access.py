"""Access to integrations' objects, through the one helper (``tickets.access.object_for_user``).

Endpoints and their deliveries are for leads only: a webhook URL often is itself a credential
(a chat incoming-webhook URL posts to the channel), so engineers and stakeholders do not see them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from integrations.webhooks.models import Delivery, Webhook
from tickets.access import object_for_user, parse_id
from tickets.models import Role


def webhook_for_user(user: AbstractBaseUser | AnonymousUser, key: str, webhook_id: object) -> Webhook:
    return object_for_user(
        user,
        Webhook,
        webhook_id,
        need=Role.LEAD,
        project_key=key,
        missing=f"There is no webhook {webhook_id} in {key}.",
    )


def delivery_for_user(
    user: AbstractBaseUser | AnonymousUser, key: str, webhook_id: object, delivery_id: object
) -> Delivery:
    webhook = webhook_for_user(user, key, webhook_id)
    delivery = Delivery.objects.filter(webhook=webhook, pk=parse_id(delivery_id)).first()
    if delivery is None:
        raise Http404(f"There is no delivery {delivery_id} of webhook {webhook.pk}.")
    delivery.webhook = webhook
    return delivery
