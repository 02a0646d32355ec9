from django.contrib import admin
from knox.models import AuthToken

from accounts.models import ApiToken

# knox's own token model is swapped for ApiToken; its admin page would show an unused table.
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners (the token is shown to them once); here they can be seen and revoked."""

    list_display = ("name", "user", "token_key", "created", "last_used_at", "expiry")
    search_fields = ("name", "token_key", "user__username")
    readonly_fields = ("name", "user", "token_key", "created", "last_used_at", "expiry")
    exclude = ("digest",)

    def has_add_permission(self, request) -> bool:
        return False
