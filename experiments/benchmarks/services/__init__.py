"""Writes for benchmarks, one module per concern. Callers use the package
(``from experiments.benchmarks import services``); the modules say where each write lives:

- ``benchmarks``: definitions (task, primary metric, threshold, guardrails)
- ``files``: evaluation files under MEDIA_ROOT and the truth cache
- ``datasets``: dataset versions (ground truth)
- ``predictions``: a run's predictions, including the MLflow ``predictions.csv`` hook
- ``evaluations``: requesting an evaluation (and submitting predictions to be evaluated)
- ``worker``: claiming, running and sweeping evaluations on Celery workers
- ``promotion``: the promotion gate and the champion history
"""

from experiments.benchmarks.services.benchmarks import benchmark_create, benchmark_update
from experiments.benchmarks.services.datasets import dataset_delete, dataset_is_used, dataset_upload
from experiments.benchmarks.services.evaluations import EVALUATION_SEED, evaluation_request
from experiments.benchmarks.services.files import columns_relative, dataset_truth, file_sha256, media_path
from experiments.benchmarks.services.predictions import (
    PREDICTIONS_ARTIFACT,
    PREDICTIONS_ARTIFACTS,
    TAG_BENCHMARK,
    Submission,
    predictions_from_artifact,
    predictions_submit,
    predictions_upload,
)
from experiments.benchmarks.services.promotion import (
    PromotionConflict,
    PromotionProblem,
    champion_promote,
    promotion_problem,
    register_promotion_hook,
    sprint_at,
)
from experiments.benchmarks.services.worker import (
    EvaluationRetry,
    SweepResult,
    evaluation_execute,
    evaluation_hand_back,
    evaluation_recover_on_start,
    evaluation_sweep,
)

__all__ = [
    "EVALUATION_SEED",
    "PREDICTIONS_ARTIFACT",
    "PREDICTIONS_ARTIFACTS",
    "TAG_BENCHMARK",
    "EvaluationRetry",
    "PromotionConflict",
    "PromotionProblem",
    "Submission",
    "SweepResult",
    "benchmark_create",
    "benchmark_update",
    "champion_promote",
    "columns_relative",
    "dataset_delete",
    "dataset_is_used",
    "dataset_truth",
    "dataset_upload",
    "evaluation_execute",
    "evaluation_hand_back",
    "evaluation_recover_on_start",
    "evaluation_request",
    "evaluation_sweep",
    "file_sha256",
    "media_path",
    "predictions_from_artifact",
    "predictions_submit",
    "predictions_upload",
    "promotion_problem",
    "register_promotion_hook",
    "sprint_at",
]
