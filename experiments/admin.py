"""Read-only admin views of experiment data: changes go through the app's services, which
keep derived state (latest metrics, champion history, stored files) consistent."""

from django.contrib import admin

from experiments.abtests.models import OnlineEvent, OnlineSnapshot, OnlineTest
from experiments.benchmarks.models import (
    Benchmark,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationShard,
    PredictionSet,
)
from experiments.dashboards.models import DemoMaterial, ShareLink, ShareLinkUse, SprintReview
from experiments.registry.models import ModelAlias, ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from experiments.tracking.models import (
    Artifact,
    Experiment,
    ImportedRun,
    LatestMetric,
    LoggedModel,
    LoggedModelFile,
    LoggedModelParam,
    LoggedModelTag,
    Metric,
    Param,
    Run,
    RunDataset,
    RunModelLink,
    Tag,
)
from tickets.admin import ReadOnlyAdmin


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "project", "ticket", "status", "started_by", "start_time"]
    list_filter = ["project", "status"]
    list_select_related = ["project", "ticket__project", "started_by"]
    search_fields = ["name", "uuid"]


@admin.register(Param)
class ParamAdmin(ReadOnlyAdmin):
    list_display = ["run", "key", "value"]
    list_select_related = ["run"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["run", "key", "value"]
    list_select_related = ["run"]


@admin.register(Metric)
class MetricAdmin(ReadOnlyAdmin):
    list_display = ["run", "key", "step", "value", "timestamp"]
    list_select_related = ["run"]
    show_full_result_count = False


@admin.register(LatestMetric)
class LatestMetricAdmin(ReadOnlyAdmin):
    list_display = ["run", "key", "step", "value"]
    list_select_related = ["run"]


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ["run", "path", "size", "created_at"]
    list_select_related = ["run"]


@admin.register(ImportedRun)
class ImportedRunAdmin(ReadOnlyAdmin):
    list_display = ["source_run_id", "source", "run", "complete", "imported_at"]
    list_select_related = ["run"]
    search_fields = ["source_run_id"]


@admin.register(Benchmark)
class BenchmarkAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "task", "primary_metric", "champion"]
    list_select_related = ["project", "champion"]


@admin.register(EvaluationDataset)
class EvaluationDatasetAdmin(ReadOnlyAdmin):
    list_display = ["benchmark", "version", "original_name", "n_rows", "n_groups", "sha256"]
    list_select_related = ["benchmark"]


@admin.register(PredictionSet)
class PredictionSetAdmin(ReadOnlyAdmin):
    list_display = ["run", "dataset", "original_name", "n_rows", "n_covered", "uploaded_at"]
    list_select_related = ["run", "dataset__benchmark"]


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["id", "benchmark", "run", "status", "verdict"]
    list_filter = ["status"]
    list_select_related = ["benchmark", "run"]


@admin.register(EvaluationShard)
class EvaluationShardAdmin(ReadOnlyAdmin):
    list_display = ["evaluation", "step", "index", "status", "worker", "runs", "heartbeat_at"]
    list_filter = ["status", "step"]
    list_select_related = ["evaluation"]


@admin.register(ChampionChange)
class ChampionChangeAdmin(ReadOnlyAdmin):
    list_display = ["benchmark", "run_name", "previous_run_name", "promoted_by", "promoted_at"]
    list_select_related = ["benchmark", "promoted_by"]


@admin.register(ShareLink)
class ShareLinkAdmin(ReadOnlyAdmin):
    list_display = ["label", "project", "sprint", "created_by", "expires_at", "revoked_at", "use_count"]
    list_select_related = ["project", "sprint", "created_by"]


@admin.register(ShareLinkUse)
class ShareLinkUseAdmin(ReadOnlyAdmin):
    list_display = ["link", "at", "ip_address"]
    list_select_related = ["link"]


@admin.register(DemoMaterial)
class DemoMaterialAdmin(ReadOnlyAdmin):
    list_display = ["title", "ticket", "kind", "size"]
    list_select_related = ["ticket__project"]


@admin.register(SprintReview)
class SprintReviewAdmin(ReadOnlyAdmin):
    list_display = ["sprint", "goal_verdict", "updated_by", "updated_at"]
    list_select_related = ["sprint", "updated_by"]


@admin.register(OnlineTest)
class OnlineTestAdmin(ReadOnlyAdmin):
    list_display = ["name", "benchmark", "state", "decision", "n_events", "created_at"]
    list_filter = ["state"]
    list_select_related = ["benchmark"]


@admin.register(OnlineEvent)
class OnlineEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "test", "unit", "variant", "outcome", "timestamp"]
    list_select_related = ["test"]
    show_full_result_count = False


@admin.register(OnlineSnapshot)
class OnlineSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["test", "version", "n_events", "at"]
    list_select_related = ["test"]


@admin.register(Experiment)
class ExperimentAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "created_by", "created_at", "deleted_at"]
    list_select_related = ["project", "created_by"]
    search_fields = ["name"]


@admin.register(LoggedModel)
class LoggedModelAdmin(ReadOnlyAdmin):
    list_display = ["model_id", "name", "project", "run", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["project", "run__project", "run__ticket__project"]
    search_fields = ["model_id", "name"]


@admin.register(LoggedModelTag)
class LoggedModelTagAdmin(ReadOnlyAdmin):
    list_display = ["model", "key"]
    list_select_related = ["model"]


@admin.register(LoggedModelParam)
class LoggedModelParamAdmin(ReadOnlyAdmin):
    list_display = ["model", "key"]
    list_select_related = ["model"]


@admin.register(LoggedModelFile)
class LoggedModelFileAdmin(ReadOnlyAdmin):
    list_display = ["model", "path"]
    list_select_related = ["model"]


@admin.register(RunDataset)
class RunDatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "digest", "context", "run"]
    list_select_related = ["run__project", "run__ticket__project"]


@admin.register(RunModelLink)
class RunModelLinkAdmin(ReadOnlyAdmin):
    list_display = ["run", "model", "direction"]
    list_select_related = ["run__project", "run__ticket__project", "model"]


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "benchmark", "last_version"]
    list_select_related = ["project", "benchmark"]
    search_fields = ["name"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["registered_model", "version", "source", "run"]
    list_select_related = ["registered_model", "run__project", "run__ticket__project"]


@admin.register(RegisteredModelTag)
class RegisteredModelTagAdmin(ReadOnlyAdmin):
    list_display = ["registered_model", "key"]
    list_select_related = ["registered_model"]


@admin.register(ModelVersionTag)
class ModelVersionTagAdmin(ReadOnlyAdmin):
    list_display = ["model_version", "key"]
    list_select_related = ["model_version__registered_model"]


@admin.register(ModelAlias)
class ModelAliasAdmin(ReadOnlyAdmin):
    list_display = ["registered_model", "alias", "model_version", "set_by", "set_at"]
    list_select_related = ["registered_model", "model_version__registered_model", "set_by"]
