"""Site-wide views: health check and error pages (JSON under /api/ and /mlflow/)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from agileml import health

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when web, database, broker, a worker and the scheduler are all up; else 503 naming what is not."""
    body = health.report()
    return JsonResponse(body, status=200 if body["ok"] else 503)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/mlflow/", "/ajax-api/"))


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if _wants_json(request):
        if request.path.startswith(("/mlflow/", "/ajax-api/")):
            codes = {400: "INVALID_PARAMETER_VALUE", 403: "PERMISSION_DENIED", 404: "ENDPOINT_NOT_FOUND"}
            return JsonResponse({"error_code": codes.get(status, "INTERNAL_ERROR"), "message": message}, status=status)
        return JsonResponse({"message": message}, status=status)
    return render(request, f"{status}.html", {"message": message}, status=status)


def _message(exception: Exception | None, default: str) -> str:
    # Only messages our own code wrote as plain sentences are shown; internals never are.
    if exception is not None and exception.args and isinstance(exception.args[0], str):
        return exception.args[0]
    return default


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, _message(exception, "Your role in this project does not allow this."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, _message(exception, "There is nothing here, or you are not a member of this project."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, "Something went wrong on our side. The error was logged.")
