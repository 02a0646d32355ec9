from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Outgoing webhooks listen to domain events; Git links add a panel to the ticket page.
        # Registered here, so planning never imports this app.
        from agileml import events
        from integrations.git import hooks as git_hooks  # noqa: F401
        from integrations.webhooks.services import webhooks_on_event

        events.subscribe(webhooks_on_event)
