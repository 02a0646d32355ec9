"""Writes of the project package: the heartbeats of background processes."""

from __future__ import annotations

from django.utils import timezone

from agileml.models import Heartbeat


def heartbeat_record(*, name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def heartbeat_forget(*, name: str) -> None:
    Heartbeat.objects.filter(name=name).delete()
