from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from agileml import views

handler400 = "agileml.views.bad_request"
handler403 = "agileml.views.permission_denied"
handler404 = "agileml.views.page_not_found"
handler500 = "agileml.views.server_error"

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("tickets.api_urls")),
    path("", include("experiments.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("inbox.api_urls")),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (files they open directly, old clients).
    # The file's plain name, not its hashed one: browsers keep a permanent redirect for good, and the
    # hashed name changes with the icon (the plain name is served too, with a short cache).
    path(
        "favicon.ico",
        RedirectView.as_view(url=f"{settings.STATIC_URL}agileml/favicon.ico", permanent=True),
        name="favicon",
    ),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounts.urls")),
    path("", include("inbox.urls")),
    path("", include("experiments.urls")),
    path("", include("integrations.urls")),
    path("", include("tickets.urls")),
]
