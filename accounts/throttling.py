"""What a locked-out sign-in gets (django-axes calls :func:`lockout_response`).

django-axes counts failed sign-ins per username and per address (``AXES_LOCKOUT_PARAMETERS``);
past ``AXES_FAILURE_LIMIT`` every attempt, right or wrong, is refused until the cool-off has passed
since the last one. The API answers 429 with ``Retry-After``; the login page shows its form again
with the reason.
"""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def retry_after_seconds(request: HttpRequest) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600


def lockout_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds >= 60 else f"{seconds} seconds"
    return f"Too many failed sign-ins for this account or from this address. Try again in {wait}."


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    seconds = retry_after_seconds(request)
    message = lockout_message(seconds)
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": message}, status=429)
    else:
        context = {
            "form": AuthenticationForm(request),
            "lockout_message": message,
            "login_username": request.POST.get("username", ""),
            "next": request.POST.get("next", ""),
        }
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
