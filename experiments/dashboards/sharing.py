"""Share-link tokens: made with ``secrets``, stored only as a SHA-256 hash, looked up by hash.

A token is 32 random bytes (43 URL-safe characters): unguessable, and since only its
hash is stored, a copy of the database does not hand out working links. Looking a
token up by its hash in a unique index costs the same whether or not it exists, so
the lookup leaks nothing through timing that the hash does not already hide.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import secrets

from django.http import Http404

from experiments.dashboards.models import ShareLink, ShareLinkState

TOKEN_BYTES = 32
HINT_LENGTH = 6
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class ShareLinkGone(Exception):
    """The token was real but its link expired or was revoked (shown as 410 Gone)."""

    def __init__(self, link: ShareLink, state: ShareLinkState) -> None:
        super().__init__(f"share link {link.pk} is {state}")
        self.link = link
        self.state = state


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def derived_token(secret: str, purpose: str) -> str:
    """A token derived from ``secret`` (the deployment's SECRET_KEY) for a fixed ``purpose``.

    The demo data uses it so that running ``seed_demo`` again prints the same link
    instead of making a new one; without the secret the token is as unguessable as a
    random one.
    """
    digest = hmac.new(secret.encode(), f"agileml-share-link:{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def share_link_for_token(token: str, *, now: datetime.datetime) -> ShareLink:
    """The active share link behind ``token``, with its project and sprint.

    ``Http404`` for anything that is not a token of a link; ``ShareLinkGone`` for a link
    that expired or was revoked (so its holder learns why it stopped working).
    """
    if not _TOKEN_SHAPE.match(token or ""):
        raise Http404("This share link is not valid.")
    link = ShareLink.objects.select_related("project", "sprint").filter(token_hash=hash_token(token)).first()
    if link is None:
        raise Http404("This share link is not valid.")
    state = link.state_at(now)
    if state != ShareLinkState.ACTIVE:
        raise ShareLinkGone(link, state)
    if link.sprint_id:
        link.sprint.project = link.project
    return link
