"""The JSON shapes of MLflow's model registry (``mlflow/protos/model_registry.proto``), and where a
version's files are downloaded from."""

from __future__ import annotations

import datetime as dt

from experiments.registry.models import ModelVersion, RegisteredModel
from experiments.tracking.mlflow_protocol import ARTIFACTS_DIR


def _ms(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def download_uri(version: ModelVersion) -> str:
    """The run's model folder as served by AgileML's artifact endpoints (the client resolves
    ``mlflow-artifacts:`` against its tracking URI); a logged model's ``models:/m-...`` as given."""
    if version.run_id is None or version.model_id:
        return version.source
    base = f"mlflow-artifacts:/{version.run.project_id}/{version.run.uuid}/{ARTIFACTS_DIR}"
    return f"{base}/{version.artifact_path}" if version.artifact_path else base


def version_json(version: ModelVersion) -> dict:
    out = {
        "name": version.registered_model.name,
        "version": str(version.version),
        "creation_timestamp": _ms(version.created_at),
        "last_updated_timestamp": _ms(version.updated_at),
        "user_id": version.created_by.get_username() if version.created_by_id else "",
        "current_stage": "None",
        "description": version.description,
        "source": version.source,
        "run_id": version.run.uuid if version.run_id else "",
        "status": "READY",
        "tags": [{"key": t.key, "value": t.value} for t in version.tags.all()],
        "aliases": [a.alias for a in version.aliases.all()],
    }
    if version.model_id:
        out["model_id"] = version.model_id
    return out


def model_json(model: RegisteredModel) -> dict:
    latest = getattr(model, "latest", None)
    return {
        "name": model.name,
        "creation_timestamp": _ms(model.created_at),
        "last_updated_timestamp": _ms(model.updated_at),
        "user_id": model.created_by.get_username() if model.created_by_id else "",
        "description": model.description,
        "latest_versions": [version_json(latest)] if latest is not None else [],
        "tags": [{"key": t.key, "value": t.value} for t in model.tags.all()],
        "aliases": [{"alias": a.alias, "version": str(a.model_version.version)} for a in model.aliases.all()],
    }
