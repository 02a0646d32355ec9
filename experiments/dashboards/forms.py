"""Forms for share links, demo material and sprint reviews (input checks only; services decide)."""

from __future__ import annotations

from django import forms

from experiments.dashboards.models import GoalVerdict, MaterialKind
from experiments.dashboards.services import SHARE_LINK_MAX_DAYS

EXPIRY_CHOICES = [(1, "1 day"), (7, "1 week"), (14, "2 weeks"), (30, "30 days"), (90, "90 days")]


class ShareLinkForm(forms.Form):
    label = forms.CharField(max_length=120, required=False, help_text="Who it is for, e.g. “Quarterly review”.")
    target = forms.CharField(required=False, help_text="Empty: the project demo; else a sprint id.")
    expires_in_days = forms.IntegerField(min_value=1, max_value=SHARE_LINK_MAX_DAYS, initial=14)

    def __init__(self, *args, sprints=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sprints = {str(s.pk): s for s in sprints}

    def clean_target(self):
        value = (self.cleaned_data.get("target") or "").strip()
        if not value:
            return None
        if value not in self.sprints:
            raise forms.ValidationError(f"There is no sprint {value} in this project.")
        return self.sprints[value]


class DemoMaterialForm(forms.Form):
    kind = forms.ChoiceField(choices=MaterialKind.choices)
    title = forms.CharField(max_length=200, required=False)
    file = forms.FileField(required=False, allow_empty_file=True)
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}), strip=False)

    def clean(self):
        data = super().clean()
        kind, upload, text = data.get("kind"), data.get("file"), (data.get("text") or "").strip()
        if kind == MaterialKind.IMAGE and upload is None:
            self.add_error("file", "Choose an image file (PNG, JPEG, GIF or WebP).")
        if kind == MaterialKind.NOTE and upload is None and not text:
            self.add_error("text", "Write the note, or choose a Markdown file.")
        return data


class SprintReviewForm(forms.Form):
    goal_verdict = forms.ChoiceField(
        choices=[("", "Not decided"), *GoalVerdict.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    summary = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"})
    )
    next_steps = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"})
    )
