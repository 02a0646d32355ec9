from django import forms

from experiments.tracking.models import RunStatus


class RunFilterForm(forms.Form):
    """Filters of the run list; every field optional."""

    ticket = forms.CharField(required=False, max_length=30, help_text="A ticket key, or 'none' for unattached runs.")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *RunStatus.choices])
    tag = forms.CharField(required=False, max_length=300, help_text="key or key=value")
    user = forms.CharField(required=False, max_length=150)
    # 0: the project's own experiment; an id: a named experiment (MLflow's set_experiment under /mlflow/<KEY>).
    experiment = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1)

    def tag_filter(self) -> tuple[str, str | None] | None:
        text = self.cleaned_data.get("tag", "").strip()
        if not text:
            return None
        key, sep, value = text.partition("=")
        return key.strip(), (value.strip() if sep else None)


class AttachTicketForm(forms.Form):
    ticket = forms.CharField(required=False, max_length=30, help_text="Ticket key such as AUTH-12; empty detaches.")


class AttachRunForm(forms.Form):
    run = forms.IntegerField(min_value=1, error_messages={"required": "Choose a run to attach."})


class RunNotesForm(forms.Form):
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=20000)
