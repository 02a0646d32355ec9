from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Planning"

    def ready(self) -> None:
        # Cached page fragments are keyed on the project's content version (tickets.versions).
        from tickets import versions

        versions.register()
