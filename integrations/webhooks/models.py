"""Outgoing webhooks: a project's endpoints and the deliveries queued for them (a durable outbox)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import Project


class WebhookKind(models.TextChoices):
    GENERIC = "generic", "JSON"
    SLACK = "slack", "Slack-compatible"


class Webhook(models.Model):
    """An endpoint a lead registered: which events go where, signed with ``secret``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=120, blank=True)
    url = models.URLField(max_length=2000)
    kind = models.CharField(max_length=16, choices=WebhookKind.choices, default=WebhookKind.GENERIC)
    # Event type names (agileml.events.TYPES); an empty list is not allowed by the services.
    events = models.JSONField(default=list)
    # Receivers verify the HMAC-SHA256 signature with it; shown in full only when created.
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    # Since when every attempt failed (None after a success); a day of that disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.project_id} → {self.url}"

    @property
    def secret_hint(self) -> str:
        return self.secret[:4] + "…" if self.secret else ""


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event for one endpoint. The body is fixed when the event happens, so every attempt sends
    the same bytes with the same ``uid`` (the ``X-AgileML-Delivery`` header receivers deduplicate by)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=40)
    event_id = models.CharField(max_length=64)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; also the claim: a sender moves it past its own timeout first.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["webhook", "-created_at"], name="delivery_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → webhook {self.webhook_id} ({self.status})"
