"""Git links: a project's receiving secret and rules, and the pull requests and commits linked to tickets."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tickets.models import Project, Ticket


class GitSettings(models.Model):
    """How project ``project`` receives GitHub or GitLab events."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="git_settings")
    # GitHub signs bodies with it (X-Hub-Signature-256); GitLab sends it as X-Gitlab-Token.
    secret = models.CharField(max_length=200)
    # Move a code ticket to review when its pull request opens, and to done when it merges.
    review_on_open = models.BooleanField(default=False)
    done_on_merge = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Git settings of {self.project_id}"


class GitLinkKind(models.TextChoices):
    PULL_REQUEST = "pull_request", "Pull request"
    COMMIT = "commit", "Commit"


class GitLink(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="git_links")
    kind = models.CharField(max_length=16, choices=GitLinkKind.choices)
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=500, blank=True)
    # open / merged / closed for pull requests; empty for commits.
    state = models.CharField(max_length=16, blank=True)
    ref = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "url"], name="git_link_once_per_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} {self.url}"
