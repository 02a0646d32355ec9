"""Celery tasks of integrations: thin, load by id and call the service."""

from __future__ import annotations

from celery import shared_task

from integrations.webhooks import services


@shared_task(name="integrations.tasks.webhook_deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="integrations.tasks.webhook_sweep", ignore_result=True)
def webhook_sweep() -> None:
    services.webhook_sweep()
