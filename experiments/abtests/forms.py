"""The new-test form: a champion and one challenger, one outcome; the API takes richer designs."""

from __future__ import annotations

from django import forms

from agileml.widgets import PickerInput
from experiments.abtests.models import AbTestUnit
from experiments.evaluation.online import KINDS


class NewTestForm(forms.Form):
    name = forms.CharField(max_length=120)
    # Pickers that ask the server as you type: a project's runs are too many for a menu.
    champion = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        label="Champion run (keeps its share of traffic)",
        widget=PickerInput(placeholder="Type a run's name or #id"),
        error_messages={"required": "Choose the champion run."},
    )
    challenger = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        label="Challenger run",
        widget=PickerInput(placeholder="Type a run's name or #id"),
        error_messages={"required": "Choose a challenger run."},
    )
    challenger_share = forms.IntegerField(
        min_value=1, max_value=99, initial=50, label="Challenger's share of traffic (%)"
    )
    unit = forms.ChoiceField(choices=AbTestUnit.choices, initial=AbTestUnit.USER, label="Unit of randomisation")
    outcome = forms.CharField(max_length=64, label="Primary outcome (the events' column)")
    kind = forms.ChoiceField(choices=[(k, k) for k in KINDS], initial="binary")
    higher_is_better = forms.BooleanField(required=False, initial=True)
    min_effect = forms.FloatField(label="Smallest effect that matters (outcome units, e.g. 0.02 = 2 points)")
    alpha = forms.FloatField(initial=0.05, min_value=0.001, max_value=0.49, label="Error level α")

    # Where the service's complaints about the arms' runs belong in this form.
    SERVICE_FIELDS = {"arms[0].run": "champion", "arms[1].run": "challenger"}

    def __init__(self, *args, runs_url: str, run_labels: dict[int, str], champion_id: int | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-control"
            if isinstance(field, forms.ChoiceField):
                css = "form-select"
            field.widget.attrs["class"] = css
        for name in ("champion", "challenger"):
            self.fields[name].widget.url = runs_url
            self.fields[name].widget.labels = {str(pk): label for pk, label in run_labels.items()}
        if champion_id is not None:
            self.fields["champion"].initial = champion_id
            self.fields["champion"].help_text = "The benchmark's champion: an online test compares against it."

    def clean(self):
        data = super().clean()
        if data.get("champion") and data.get("champion") == data.get("challenger"):
            self.add_error("challenger", "Choose a challenger other than the champion.")
        return data

    def design(self) -> dict:
        """The keyword arguments of ``services.onlinetest_create``."""
        data = self.cleaned_data
        share = data["challenger_share"]
        return {
            "name": data["name"],
            "unit": data["unit"],
            "alpha": data["alpha"],
            "arms": [
                {"variant": "champion", "run": data["champion"], "weight": 100 - share},
                {"variant": "challenger", "run": data["challenger"], "weight": share},
            ],
            "primary": {
                "name": data["outcome"],
                "kind": data["kind"],
                "higher_is_better": data["higher_is_better"],
                "min_effect": data["min_effect"],
            },
        }
