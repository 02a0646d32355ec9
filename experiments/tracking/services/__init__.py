"""Writes for runs, one module per concern. Callers use the package
(``from experiments.tracking import services``); the modules say where each write lives:

- ``validation``: what MLflow accepts (names, values, batch limits) and the tags that are run fields
- ``runs``: start, end, rename, annotate a run, and attach it to a ticket
- ``log_batches``: params, tags and metric points logged to a run, and whole runs recorded at once
- ``artifacts``: a run's files, and the hooks other capabilities register on them
- ``logged_models``: MLflow 3 logged models, their tags, params and files
- ``inputs``: datasets and models a run read or made
- ``lifecycle``: soft delete and restore of runs, and experiments inside a project
"""

from experiments.tracking.services.artifacts import (
    ARTIFACT_HOOKS,
    artifact_file,
    artifact_root,
    artifact_save,
    register_artifact_hook,
    validate_artifact_path,
)
from experiments.tracking.services.inputs import DatasetInput, run_log_inputs, run_log_outputs
from experiments.tracking.services.lifecycle import experiment_create, experiment_set_deleted, run_delete, run_restore
from experiments.tracking.services.log_batches import run_log, run_record
from experiments.tracking.services.logged_models import (
    logged_model_create,
    logged_model_delete,
    logged_model_delete_tag,
    logged_model_file,
    logged_model_file_save,
    logged_model_finalize,
    logged_model_log_params,
    logged_model_root,
    logged_model_set_tags,
)
from experiments.tracking.services.runs import (
    UNCHANGED,
    default_run_name,
    run_attach_ticket,
    run_change,
    run_create,
    run_delete_tag,
    run_update,
    ticket_in_project,
)
from experiments.tracking.services.validation import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    TAG_GIT_COMMIT,
    TAG_NOTE,
    TAG_RUN_NAME,
    TAG_SOURCE_NAME,
    TAG_TICKET,
    MetricPoint,
    datetime_from_ms,
    now_ms,
    validate_key,
)

__all__ = [
    "ARTIFACT_HOOKS",
    "MAX_ENTITIES_PER_BATCH",
    "MAX_METRICS_PER_BATCH",
    "MAX_PARAMS_PER_BATCH",
    "MAX_TAGS_PER_BATCH",
    "TAG_GIT_COMMIT",
    "TAG_NOTE",
    "TAG_RUN_NAME",
    "TAG_SOURCE_NAME",
    "TAG_TICKET",
    "UNCHANGED",
    "DatasetInput",
    "MetricPoint",
    "artifact_file",
    "artifact_root",
    "artifact_save",
    "datetime_from_ms",
    "default_run_name",
    "experiment_create",
    "experiment_set_deleted",
    "logged_model_create",
    "logged_model_delete",
    "logged_model_delete_tag",
    "logged_model_file",
    "logged_model_file_save",
    "logged_model_finalize",
    "logged_model_log_params",
    "logged_model_root",
    "logged_model_set_tags",
    "now_ms",
    "register_artifact_hook",
    "run_attach_ticket",
    "run_change",
    "run_create",
    "run_delete",
    "run_delete_tag",
    "run_log",
    "run_log_inputs",
    "run_log_outputs",
    "run_record",
    "run_restore",
    "run_update",
    "ticket_in_project",
    "validate_artifact_path",
    "validate_key",
]
