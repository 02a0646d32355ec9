"""Reads for Git links."""

from __future__ import annotations

from integrations.git.models import GitLink, GitSettings
from tickets.models import Project, Ticket


def git_settings_of_project(*, project: Project) -> GitSettings | None:
    return GitSettings.objects.filter(project=project).first()


def git_links_of_ticket(*, ticket: Ticket, limit: int = 100) -> list[GitLink]:
    return list(GitLink.objects.filter(ticket=ticket).order_by("-updated_at", "-id")[:limit])
