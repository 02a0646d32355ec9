"""Celery tasks for notifications: load by id, call the service."""

from celery import shared_task

from inbox import services


@shared_task(name="inbox.tasks.notification_emails_send")
def notification_emails_send(notification_ids: list[int]) -> int:
    return services.notification_emails_send(notification_ids=list(notification_ids))


@shared_task(name="inbox.tasks.notification_digest_send")
def notification_digest_send() -> int:
    return services.notification_digest_send()
