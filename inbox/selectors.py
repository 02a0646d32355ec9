"""Reads: a user's notifications and unread count, watching, and the e-mail preference."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from inbox.models import DEFAULT_EMAIL, Notification, NotificationPreference, Watcher
from tickets.models import Ticket


def notifications_of_user(*, user: AbstractBaseUser, unread: bool = False) -> QuerySet[Notification]:
    """``user``'s notifications, newest first, with what a list shows joined in (one query per page)."""
    rows = Notification.objects.filter(recipient=user).select_related("project", "actor", "ticket")
    return rows.filter(read_at=None) if unread else rows


def notifications_for_access() -> QuerySet[Notification]:
    """For ``owned_object_for_user(..., owner_field="recipient")``: anyone else's is not found."""
    return Notification.objects.select_related("project", "ticket", "actor")


def unread_count(*, user: AbstractBaseUser) -> int:
    return Notification.objects.filter(recipient=user, read_at=None).count()


def is_watching(*, ticket: Ticket, user: AbstractBaseUser) -> bool:
    return Watcher.objects.filter(ticket=ticket, user=user).exists()


def email_choice(*, user: AbstractBaseUser) -> str:
    row = NotificationPreference.objects.filter(user=user).first()
    return row.email if row else DEFAULT_EMAIL
