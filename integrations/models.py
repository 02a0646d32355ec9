"""The integrations app's models, by capability (each capability imports its own module)."""

from integrations.git.models import GitLink, GitLinkKind, GitSettings
from integrations.webhooks.models import Delivery, DeliveryStatus, Webhook, WebhookKind

__all__ = ["Delivery", "DeliveryStatus", "GitLink", "GitLinkKind", "GitSettings", "Webhook", "WebhookKind"]
