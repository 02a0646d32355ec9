"""The ASGI application the web server runs (``gunicorn agileml.asgi:application -k agileml.web.Worker``).

Django's ASGI handler reads a whole request body (spooled to a temporary file past
``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any view can look at it, so the upload views' size limit
would only speak after the last byte arrived. A request that announces a body larger than any
upload AgileML accepts is answered 413 at once, naming the limit, and its body is never read.
"""

import os

import django
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse, JsonResponse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
# Under ASGI every request runs its database work in a thread of its own, so a persistent
# connection would be left open per thread: 50 concurrent users exhausted PostgreSQL's 100
# connections (`python -m bench load`). Django's advice for ASGI is to close connections at the
# end of each request; DATABASE_CONN_MAX_AGE still overrides it. Workers keep theirs for 60 s.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")

# Multipart framing around the largest file, and the form fields that come with it.
_MULTIPART_ALLOWANCE = 1024 * 1024


def body_limit() -> int:
    """The largest request body worth reading: the largest file or request AgileML accepts, plus framing."""
    return max(settings.UPLOAD_MAX_BYTES, settings.ARTIFACT_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + (
        _MULTIPART_ALLOWANCE
    )


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send) -> None:
        length = _content_length(scope)
        limit = body_limit()
        if length is not None and length > limit:
            message = (
                f"The request body of {length:,} bytes is larger than the limit of {limit:,} bytes "
                "(UPLOAD_MAX_BYTES, ARTIFACT_MAX_BYTES and REQUEST_MAX_BYTES, plus 1 MiB)."
            )
            if scope.get("path", "").startswith(("/api/", "/mlflow/", "/ajax-api/")):
                response = JsonResponse({"message": message}, status=413)
            else:
                response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
            response["Connection"] = "close"
            await self.send_response(response, send)
            return
        await super().handle(scope, receive, send)


django.setup(set_prefix=False)
application = BodyLimitASGIHandler()
