from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        # What each capability adds to other parts (panels on planning's ticket page, the
        # predictions.csv artifact hook): registered here, so planning never imports this app.
        from experiments.abtests import hooks as abtest_hooks  # noqa: F401
        from experiments.benchmarks import hooks as benchmark_hooks  # noqa: F401
        from experiments.dashboards import hooks as dashboard_hooks  # noqa: F401
        from experiments.registry import hooks as registry_hooks  # noqa: F401
        from experiments.tracking import hooks as tracking_hooks  # noqa: F401
