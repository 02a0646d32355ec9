"""Account pages: named API tokens (make, list, revoke) and the password change."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import ApiTokenForm, PasswordChangeForm
from tickets.access import owned_object_for_user


def _tokens_page(request: HttpRequest, form: ApiTokenForm, new_token: str | None = None, status: int = 200):
    context = {
        "form": form,
        "tokens": selectors.api_tokens_of_user(user=request.user),
        "legacy_token": selectors.legacy_token_of_user(user=request.user),
        "new_token": new_token,
    }
    return render(request, "accounts/tokens.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                token, key = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                # Shown on this response only: the database keeps the hash.
                messages.success(request, f"Token “{token.name}” made. Copy it now: it is not shown again.")
                return _tokens_page(request, ApiTokenForm(), new_token=key)
        return _tokens_page(request, form, status=400)
    return _tokens_page(request, form)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: str) -> HttpResponse:
    token = owned_object_for_user(request.user, selectors.api_tokens_for_access(), token_id)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” is revoked: it no longer works.")
    return redirect("account-tokens")


@login_required
@require_POST
def legacy_token_revoke(request: HttpRequest) -> HttpResponse:
    if services.legacy_token_revoke(user=request.user):
        messages.success(request, "The unnamed token is revoked: it no longer works.")
    return redirect("account-tokens")


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            revoked = services.password_change(
                user=request.user, old_password=data["old_password"], new_password=data["new_password"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            update_session_auth_hash(request, request.user)
            tokens = f"{revoked} API token{'s' if revoked != 1 else ''}"
            messages.success(request, f"Password changed. {tokens} revoked; make new ones here.")
            return redirect("account-tokens")
    status = 400 if form.is_bound else 200
    return render(request, "accounts/password_change.html", {"form": form}, status=status)
