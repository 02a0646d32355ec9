"""The time services stamp on history.

Services ask :func:`now` instead of ``timezone.now()`` so the demo can replay a
believable plan at past dates (``with frozen_at(moment): ...``); everywhere else
it is simply the current time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

_frozen: ContextVar[datetime.datetime | None] = ContextVar("agileml_frozen_now", default=None)


def now() -> datetime.datetime:
    return _frozen.get() or timezone.now()


@contextmanager
def frozen_at(moment: datetime.datetime) -> Iterator[datetime.datetime]:
    """Make :func:`now` return ``moment`` (timezone-aware) inside the block."""
    if timezone.is_naive(moment):
        raise ValueError("frozen_at needs a timezone-aware datetime")
    token = _frozen.set(moment)
    try:
        yield moment
    finally:
        _frozen.reset(token)
