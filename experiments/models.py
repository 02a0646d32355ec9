"""Every model of the ``experiments`` app, for Django and for code outside the app.

The models live with their capability (``tracking``, ``benchmarks``, ``dashboards``);
importing them here registers them with the one app label ``experiments``, so tables,
migrations and the admin are unchanged. Code inside a capability imports its own
``models`` module instead, so the layering contract can see what it reads.
"""

from experiments.abtests.models import AbTestDecision, AbTestState, AbTestUnit, OnlineEvent, OnlineSnapshot, OnlineTest
from experiments.benchmarks.models import (
    Benchmark,
    BenchmarkTask,
    BenchmarkUnit,
    ChampionChange,
    Evaluation,
    EvaluationDataset,
    EvaluationStatus,
    PredictionSet,
    PredictionSource,
    Verdict,
    benchmark_name_validator,
)
from experiments.dashboards.models import (
    DemoMaterial,
    GoalVerdict,
    MaterialKind,
    ShareLink,
    ShareLinkState,
    ShareLinkUse,
    SprintReview,
)
from experiments.registry.models import (
    ModelAlias,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from experiments.tracking.models import (
    MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    Artifact,
    ImportedRun,
    LatestMetric,
    Metric,
    Param,
    Run,
    RunStatus,
    Tag,
    new_run_uuid,
)

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PARAM_VALUE_LENGTH",
    "MAX_RUN_NAME_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "AbTestDecision",
    "AbTestState",
    "AbTestUnit",
    "Artifact",
    "Benchmark",
    "BenchmarkTask",
    "BenchmarkUnit",
    "ChampionChange",
    "DemoMaterial",
    "Evaluation",
    "EvaluationDataset",
    "EvaluationStatus",
    "GoalVerdict",
    "ImportedRun",
    "LatestMetric",
    "MaterialKind",
    "Metric",
    "ModelAlias",
    "ModelVersion",
    "ModelVersionTag",
    "OnlineEvent",
    "OnlineSnapshot",
    "OnlineTest",
    "Param",
    "PredictionSet",
    "PredictionSource",
    "RegisteredModel",
    "RegisteredModelTag",
    "Run",
    "RunStatus",
    "ShareLink",
    "ShareLinkState",
    "ShareLinkUse",
    "SprintReview",
    "Tag",
    "Verdict",
    "benchmark_name_validator",
    "new_run_uuid",
]
