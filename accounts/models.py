"""Named API tokens: django-rest-knox's hashed token with a name and the time it was last used."""

from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class ApiToken(AbstractAuthToken):
    """A token a user made for a script or a client. Only its hash (``digest``) and its first
    characters (``token_key``, to find it) are stored; the token itself is shown once."""

    # knox keys the row by its digest; a short id is what pages and the API name instead.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"
