from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        # Panels this app adds to planning's ticket page.
        from experiments import dashboards_panels, ticket_panels  # noqa: F401
