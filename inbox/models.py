"""Watchers of tickets, notifications (the in-app inbox) and each user's e-mail preference."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import Project, Ticket


class Watcher(models.Model):
    """``user`` hears about ``ticket``: its author, assignee, commenters, people mentioned, whoever clicked Watch."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="watchers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watching")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="one_watcher_per_ticket_and_user")]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.ticket_id}"


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to you"
    MENTIONED = "mentioned", "Mentioned you"
    STATUS_CHANGED = "status_changed", "Status changed"
    ANSWERED = "answered", "Question answered"
    EVALUATION_FINISHED = "evaluation_finished", "Evaluation finished"
    CHAMPION_PROMOTED = "champion_promoted", "Champion promoted"
    SPRINT_STARTED = "sprint_started", "Sprint started"
    SPRINT_CLOSED = "sprint_closed", "Sprint closed"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook turned off"


class Notification(models.Model):
    """One line in one user's inbox. The text is plain (escaped when shown); ``url`` is the app's own path."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    event_id = models.CharField(max_length=32, help_text="The domain event it came from.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when an e-mail (immediate or in a digest) took it, or it was decided none will: claimed
    # with a conditional update, so a task run twice sends it once.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event_id", "kind"], name="one_notification_per_event")
        ]

    def __str__(self) -> str:
        return self.text


class EmailChoice(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    DAILY = "daily", "A daily digest"
    NEVER = "never", "Never"


class NotificationPreference(models.Model):
    """How ``user`` wants notifications e-mailed; users without a row get :data:`DEFAULT_EMAIL`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.CharField(max_length=16, choices=EmailChoice.choices, default=EmailChoice.IMMEDIATELY)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email}"


DEFAULT_EMAIL = EmailChoice.IMMEDIATELY
