"""What a run read and made: datasets (``mlflow.log_input``) and logged models (inputs and outputs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from experiments.tracking.models import LoggedModel, ModelLinkDirection, Run, RunDataset, RunModelLink

# MLflow's dataset limits (mlflow/utils/validation.py).
MAX_DATASET_NAME = 500
MAX_DATASET_DIGEST = 36
MAX_DATASET_SCHEMA = 1_048_575
MAX_DATASET_PROFILE = 16_384
MAX_DATASET_SOURCE = 65_535
CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class DatasetInput:
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def _validate(dataset: DatasetInput, index: int) -> None:
    where = f"datasets[{index}]"
    for what, value, limit in (
        ("name", dataset.name, MAX_DATASET_NAME),
        ("digest", dataset.digest, MAX_DATASET_DIGEST),
        ("schema", dataset.schema, MAX_DATASET_SCHEMA),
        ("profile", dataset.profile, MAX_DATASET_PROFILE),
        ("source", dataset.source, MAX_DATASET_SOURCE),
    ):
        if len(value) > limit:
            raise ValidationError({"datasets": f"{where}.{what} has {len(value):,} characters; at most {limit:,}."})
    if not dataset.name or not dataset.digest:
        raise ValidationError({"datasets": f"{where} needs a name and a digest."})


@transaction.atomic
def run_log_inputs(*, run: Run, datasets: Sequence[DatasetInput] = (), models: Sequence[LoggedModel] = ()) -> None:
    """Record datasets and models the run used; logging the same dataset again updates its tags."""
    for index, dataset in enumerate(datasets):
        _validate(dataset, index)
    for dataset in datasets:
        RunDataset.objects.update_or_create(
            run=run,
            name=dataset.name,
            digest=dataset.digest,
            defaults={
                "source_type": dataset.source_type[:36],
                "source": dataset.source,
                "schema": dataset.schema,
                "profile": dataset.profile,
                "context": dataset.tags.get(CONTEXT_TAG, "")[:250],
                "tags": dataset.tags,
            },
        )
    _link(run, models, ModelLinkDirection.INPUT, {})


def run_log_outputs(*, run: Run, models: Sequence[LoggedModel], steps: dict[int, int] | None = None) -> None:
    """Record logged models the run made (``log_model`` sends these)."""
    _link(run, models, ModelLinkDirection.OUTPUT, steps or {})


def _link(run: Run, models: Sequence[LoggedModel], direction: str, steps: dict[int, int]) -> None:
    for model in models:
        if model.project_id != run.project_id:
            raise ValidationError({"models": f"Model {model.model_id} is not in the run's project."})
    RunModelLink.objects.bulk_create(
        [RunModelLink(run=run, model=m, direction=direction, step=steps.get(m.pk, 0)) for m in models],
        ignore_conflicts=True,
    )
