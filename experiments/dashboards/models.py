"""Models for the dashboards and the stakeholder demo: share links (and every use of them),
demo material attached to question tickets, and the lead's sprint review notes.

Imported by ``experiments.models`` so Django registers them with the ``experiments`` app.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models

from tickets.models import Project, Sprint, Ticket


class ShareLinkState(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ShareLink(models.Model):
    """A read-only link to one demo page (the project's, or one sprint's) for people without an account.

    Only a SHA-256 hash of the token is stored: the token itself is shown once, when the
    link is created, and cannot be recovered from the database.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    # None: the project's demo page; else that sprint's demo (review) page.
    sprint = models.ForeignKey(Sprint, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(max_length=120, blank=True, help_text="Who the link is for, e.g. 'Board review'.")
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's first characters, so a lead can tell links apart (not enough to guess it).
    token_hint = models.CharField(max_length=8)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    use_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="share_link_project_idx")]

    def __str__(self) -> str:
        return f"Share link {self.token_hint}… to {self.project_id}"

    def state_at(self, moment: datetime.datetime) -> ShareLinkState:
        if self.revoked_at is not None:
            return ShareLinkState.REVOKED
        if self.expires_at <= moment:
            return ShareLinkState.EXPIRED
        return ShareLinkState.ACTIVE

    @property
    def target_label(self) -> str:
        return f"{self.sprint.name} demo" if self.sprint_id else "Project demo"


class ShareLinkUse(models.Model):
    """One opening of a share link's demo page."""

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="uses")
    at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["link", "-at"], name="share_link_use_idx")]

    def __str__(self) -> str:
        return f"{self.link_id} used at {self.at:%Y-%m-%d %H:%M}"


class MaterialKind(models.TextChoices):
    IMAGE = "image", "Image"
    NOTE = "note", "Note"


class DemoMaterial(models.Model):
    """Show-and-tell for an answered question: a picture or a short Markdown note.

    Images are re-encoded at upload (see ``experiments.demo_material``), so ``content``
    holds bytes this app wrote, of type ``content_type``, never the uploaded file itself.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="demo_material")
    kind = models.CharField(max_length=8, choices=MaterialKind.choices)
    title = models.CharField(max_length=200, blank=True, help_text="A caption.")
    # Images: the re-encoded bytes and what they are.
    content = models.BinaryField(blank=True, default=b"", editable=False)
    content_type = models.CharField(max_length=32, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # Notes: Markdown, rendered sanitised.
    note = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["ticket", "order", "id"]
        indexes = [models.Index(fields=["ticket", "order"], name="demo_material_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}: {self.title}"

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg"}.get(self.content_type, "bin")


class GoalVerdict(models.TextChoices):
    MET = "met", "Met"
    PARTLY = "partly", "Partly met"
    NOT_MET = "not_met", "Not met"


class SprintReview(models.Model):
    """The lead's word on a sprint for its review (show-and-tell) page."""

    sprint = models.OneToOneField(Sprint, on_delete=models.CASCADE, related_name="review")
    goal_verdict = models.CharField(max_length=16, choices=GoalVerdict.choices, blank=True)
    summary = models.TextField(blank=True, help_text="Markdown: what the sprint learned and delivered.")
    next_steps = models.TextField(blank=True, help_text="Markdown: what comes next.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Review of {self.sprint_id}"
