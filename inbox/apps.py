from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Notifications and search"

    def ready(self) -> None:
        # Subscribes to the domain events and adds the Watch button to planning's ticket page;
        # planning and experiments never import this app.
        from inbox import hooks  # noqa: F401
