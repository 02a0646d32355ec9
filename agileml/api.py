"""Cross-cutting REST API pieces: authentication, pagination and the error format.

Every error response is JSON of the form ``{"message": str, "errors": {...}}`` where
``message`` is one human-readable sentence naming the field (or line) at fault and
``errors`` keeps the per-field detail for programs.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    message = serializers.CharField(help_text="What went wrong, naming the field or line at fault.")
    errors = serializers.DictField(required=False, help_text="Per-field messages, when a field is at fault.")


def _first_message(detail: Any, path: str = "") -> str:
    """Flatten DRF's nested error detail into one sentence naming the field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__", "detail"):
                name = path
            elif isinstance(key, int) or str(key).isdigit():
                # Lists of nested objects report errors by position: decisions[1].reason.
                name = f"{path}[{key}]"
            else:
                name = f"{path}.{key}" if path else str(key)
            return _first_message(value, name)
        return "Invalid input."
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict):
                if not value:
                    # A valid item in a list of nested objects: the error is further on.
                    continue
                return _first_message(value, f"{path}[{index}]" if path else f"[{index}]")
            return _first_message(value, path)
        return "Invalid input."
    text = str(detail)
    return f"{path}: {text}" if path else text


def django_validation_to_drf(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError({k: [m for e in v for m in e.messages] for k, v in error.error_dict.items()})
    return exceptions.ValidationError({"non_field_errors": error.messages})


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You do not have permission to do this.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    body: dict[str, Any] = {"message": _first_message(detail)}
    if isinstance(detail, dict) and set(detail) != {"detail"}:
        body["errors"] = detail
    elif isinstance(detail, list):
        body["errors"] = {"non_field_errors": detail}
    response.data = body
    return response
