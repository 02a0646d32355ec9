"""Upload handling for evaluation files: streamed to disk, stopped past ``settings.UPLOAD_MAX_BYTES``.

Django's default handlers keep small files in memory; evaluation files can be hundreds of
megabytes, so every upload view installs ``evaluation_upload_handlers`` instead: a size-limit
handler first, then Django's temporary-file handler. When a file grows past the limit the upload
stops, the partial temporary file is closed (which deletes it) and the rest of the request body
is read and discarded, so the client still receives our 400 response rather than a reset.

Upload handlers must be set before anything reads ``request.POST``; Django's CSRF middleware
does, so plain views are ``csrf_exempt`` and check the token themselves with ``csrf_protect``
after installing the handlers (Django's documented pattern). DRF views install them in
``initialize_request``, before authentication runs its own CSRF check.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops the upload once one file exceeds ``limit`` bytes and records which field did."""

    def __init__(self, request: HttpRequest | None = None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = settings.UPLOAD_MAX_BYTES if limit is None else limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            if self.request is not None:
                self.request.upload_too_large = self.field_name
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def evaluation_upload_handlers(request: HttpRequest) -> list[FileUploadHandler]:
    return [SizeLimitUploadHandler(request), TemporaryFileUploadHandler(request)]


def install_upload_handlers(request: HttpRequest) -> None:
    request.upload_handlers = evaluation_upload_handlers(request)


def too_large_error(request: HttpRequest) -> ValidationError | None:
    """The error to report when the size-limit handler stopped this request's upload."""
    field = getattr(request, "upload_too_large", None)
    if field is None:
        return None
    limit = settings.UPLOAD_MAX_BYTES
    return ValidationError(
        {field or "file": f"The file is larger than the limit of {limit:,} bytes ({_mib(limit)}, UPLOAD_MAX_BYTES)."}
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KiB"
