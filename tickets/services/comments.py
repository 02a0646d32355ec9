"""Writes for comments on tickets."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from agileml import events
from tickets import clock
from tickets.models import (
    Comment,
    Ticket,
)


@transaction.atomic
def comment_create(*, ticket: Ticket, author: AbstractBaseUser, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something: the comment is empty."})
    comment = Comment.objects.create(ticket=ticket, author=author, body=body, created_at=clock.now())
    events.publish(
        events.COMMENT_CREATED,
        project=ticket.project,
        actor=author,
        at=comment.created_at,
        payload={
            "ticket": ticket.key,
            "title": ticket.title,
            "comment": comment.pk,
            "body": body,
            "author": author.get_username(),
        },
    )
    return comment


def comment_update(*, comment: Comment, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something: the comment is empty."})
    comment.body = body
    comment.save(update_fields=["body", "updated_at"])
    return comment


def comment_delete(*, comment: Comment) -> None:
    comment.delete()
