from __future__ import annotations

from django import forms

from experiments.benchmarks.models import BenchmarkTask, BenchmarkUnit
from experiments.evaluation import METRICS

ALL_METRICS = sorted({m for names in METRICS.values() for m in names})


class BenchmarkForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="Used in the MLflow tag agileml.benchmark=<name>.")
    task = forms.ChoiceField(choices=BenchmarkTask.choices)
    primary_metric = forms.ChoiceField(
        choices=[("", "Usual one for the task")] + [(m, m) for m in ALL_METRICS], required=False
    )
    threshold = forms.FloatField(initial=0.5, help_text="Binary only: a score ≥ the threshold is a positive decision.")
    guardrails = forms.CharField(
        required=False,
        max_length=500,
        help_text="Metrics that must not regress, with the largest tolerated regression: e.g. eer=0.01, f1=0.02",
    )
    unit = forms.ChoiceField(
        choices=BenchmarkUnit.choices,
        required=False,
        initial=BenchmarkUnit.INDEPENDENT,
        label="Unit of independence",
        help_text="Grouped rows (several per subject, session or device) need a group column in every truth file.",
    )
    effect_of_interest = forms.FloatField(
        required=False,
        label="Effect of interest",
        help_text="The smallest improvement of the primary metric worth detecting (e.g. 0.01 AUC).",
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="What “better” means"
    )

    def clean_guardrails(self) -> dict[str, float]:
        text = self.cleaned_data.get("guardrails", "").strip()
        margins: dict[str, float] = {}
        for item in [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]:
            metric, sep, margin = item.partition("=")
            metric = metric.strip()
            if not sep:
                raise forms.ValidationError(f"Write each guardrail as metric=margin; {item!r} has no '='.")
            try:
                margins[metric] = float(margin)
            except ValueError:
                raise forms.ValidationError(
                    f"The margin of {metric} must be a number, not {margin.strip()!r}."
                ) from None
        return margins


def guardrails_text(guardrails: dict[str, float]) -> str:
    return ", ".join(f"{metric}={margin:g}" for metric, margin in guardrails.items())


class DatasetUploadForm(forms.Form):
    # Empty files reach the engine, whose message names the file.
    file = forms.FileField(
        allow_empty_file=True,
        label="Ground truth file",
        help_text="CSV, gzip- or zstd-compressed CSV, or Parquet.",
        error_messages={"required": "Choose a ground-truth file (id,label[,group]; CSV, compressed CSV or Parquet)."},
    )
    note = forms.CharField(required=False, max_length=2000, help_text="What changed in this version.")


class SubmitPredictionsForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,
        label="Predictions file",
        help_text="CSV, gzip- or zstd-compressed CSV, or Parquet.",
        error_messages={"required": "Choose a predictions file to upload (CSV, compressed CSV or Parquet)."},
    )
    run = forms.IntegerField(required=False, min_value=1, help_text="An existing run; leave empty to create one.")
    run_name = forms.CharField(required=False, max_length=250, help_text="Name of the new run.")
    ticket = forms.CharField(required=False, max_length=30, help_text="Ticket key for the new run, e.g. AUTH-12.")


class PromoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
