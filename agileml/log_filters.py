"""Logging filters named in ``settings.LOGGING``."""

from __future__ import annotations

import logging


class OneLineForbidden(logging.Filter):
    """A refused request (403) is an answer, not a fault: Django logs it with the traceback of the
    ``PermissionDenied`` that produced it; keep the one line (method, path, status) and drop the trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
