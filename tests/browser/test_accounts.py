"""The account pages in a real browser: make a token, see it once, revoke it, change the password."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get("/api/v1/projects/").status_code == 200


def test_an_engineer_makes_revokes_and_loses_tokens_with_the_password(page, cast):
    login(page, "engineer")
    page.locator("[data-testid=account-link]").click()
    page.wait_for_url("**/account/tokens/")
    page.fill("#id_name", "laptop MLflow")
    page.get_by_role("button", name="Make token").click()
    key = page.locator("#new-token").input_value()
    assert key.startswith("agileml_") and works(key)
    page.fill("#id_name", "CI")
    page.get_by_role("button", name="Make token").click()
    second = page.locator("#new-token").input_value()
    page.goto("/account/tokens/")
    assert page.locator("#new-token").count() == 0  # shown once
    assert page.locator("[data-testid=token-table] tbody tr").count() == 2

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="laptop MLflow").get_by_role("button", name="Revoke").click()
    page.wait_for_selector(".alert-success")
    assert "Token “laptop MLflow” is revoked" in page.locator(".alert-success").inner_text()
    assert not works(key) and works(second)

    page.get_by_role("link", name="Change password").click()
    page.fill("#id_old_password", "pw")
    page.fill("#id_new_password", "a-new-long-passphrase")
    page.fill("#id_new_password_again", "a-new-long-passphrase")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/account/tokens/")
    assert "1 API token revoked" in page.locator(".alert-success").inner_text()
    assert not works(second)
    assert page.locator("[data-testid=token-table]").count() == 0


def test_the_login_page_explains_a_lockout(page, cast):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto("/login/")
        page.fill("#id_username", "lead")
        page.fill("#id_password", "wrong")
        page.click("button[type=submit]")
    assert "Too many failed sign-ins" in page.locator("[data-testid=lockout]").inner_text()
    assert page.locator("#id_username").input_value() == "lead"
