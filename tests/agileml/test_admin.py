import pytest
from django.apps import apps
from django.contrib import admin

pytestmark = pytest.mark.django_db

APPS = ["accounts", "tickets", "experiments"]


def test_every_model_is_in_the_admin():
    missing = [
        f"{model._meta.app_label}.{model.__name__}"
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if not admin.site.is_registered(model)
    ]
    assert not missing, f"not registered in the admin: {missing}"


def test_admin_changelists_render(admin_client):
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            url = f"/admin/{label}/{model._meta.model_name}/"
            assert admin_client.get(url).status_code == 200, url
