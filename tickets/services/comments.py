"""Writes for comments on tickets."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from tickets import clock
from tickets.models import (
    Comment,
    Ticket,
)


def comment_create(*, ticket: Ticket, author: AbstractBaseUser, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something: the comment is empty."})
    return Comment.objects.create(ticket=ticket, author=author, body=body, created_at=clock.now())


def comment_update(*, comment: Comment, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something: the comment is empty."})
    comment.body = body
    comment.save(update_fields=["body", "updated_at"])
    return comment


def comment_delete(*, comment: Comment) -> None:
    comment.delete()
