"""Reads for outgoing webhooks: a project's endpoints with their recent deliveries (two queries)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from integrations.webhooks.models import Delivery, Webhook
from tickets.models import Project

RECENT_DELIVERIES = 10


def webhooks_of_project(*, project: Project, recent: int = RECENT_DELIVERIES) -> list[Webhook]:
    """Every endpoint of ``project``, each with ``recent_deliveries`` (newest first, at most ``recent``)."""
    hooks = list(Webhook.objects.filter(project=project).order_by("created_at", "id"))
    if not hooks:
        return hooks
    rows = (
        Delivery.objects.filter(webhook__in=hooks)
        .annotate(
            position=Window(
                RowNumber(), partition_by=[F("webhook_id")], order_by=[F("created_at").desc(), F("id").desc()]
            )
        )
        .filter(position__lte=recent)
        .order_by("webhook_id", "position")
    )
    by_hook: dict[int, list[Delivery]] = defaultdict(list)
    for row in rows:
        by_hook[row.webhook_id].append(row)
    for hook in hooks:
        hook.project = project
        hook.recent_deliveries = by_hook.get(hook.pk, [])
    return hooks


def deliveries_of_webhook(*, webhook: Webhook) -> QuerySet[Delivery]:
    """Every delivery of ``webhook``, newest first, without the bodies sent (to be paged)."""
    return Delivery.objects.filter(webhook=webhook).defer("body").order_by("-created_at", "-id")
