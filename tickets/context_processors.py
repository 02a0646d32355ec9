from django.http import HttpRequest

from tickets import selectors


def navigation(request: HttpRequest) -> dict:
    """The signed-in user's projects for the project switcher (queried only if rendered)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_memberships": []}
    return {"nav_memberships": selectors.memberships_for_user(user=user)}
