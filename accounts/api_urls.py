from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("account/tokens/", api.ApiTokenListApi.as_view(), name="api-account-token-list"),
    path("account/tokens/<str:token_id>/", api.ApiTokenDetailApi.as_view(), name="api-account-token-detail"),
]
