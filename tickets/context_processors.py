from django.http import HttpRequest

from tickets import selectors


def navigation(request: HttpRequest) -> dict:
    """The signed-in user's projects for the project switcher (queried only if rendered)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_memberships": []}
    return {"nav_memberships": switcher_memberships(user)}


def switcher_memberships(user) -> list | object:
    """The memberships the access check of this request loaded (``tickets.access``), or a query."""
    loaded = getattr(user, "switcher_memberships", None)
    return loaded if loaded is not None else selectors.switcher_memberships(user=user)
