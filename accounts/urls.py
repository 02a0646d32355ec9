from django.urls import path

from accounts import views

urlpatterns = [
    path("account/tokens/", views.api_tokens, name="account-tokens"),
    path("account/tokens/unnamed/revoke/", views.legacy_token_revoke, name="account-legacy-token-revoke"),
    path("account/tokens/<str:token_id>/revoke/", views.api_token_revoke, name="account-token-revoke"),
    path("account/password/", views.password_change, name="account-password"),
]
