from django import forms

from agileml import events
from integrations.webhooks.models import WebhookKind


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=120, required=False)
    url = forms.CharField(max_length=2000, label="URL")
    kind = forms.ChoiceField(choices=WebhookKind.choices, initial=WebhookKind.GENERIC)
    events = forms.MultipleChoiceField(
        choices=[(t, t) for t in events.TYPES],
        error_messages={"required": "Choose at least one event."},
    )
    secret = forms.CharField(max_length=200, required=False, help_text="Leave empty to have one generated.")
