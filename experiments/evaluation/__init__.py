"""The evaluation engine: metrics with 95% intervals and a paired challenger-vs-champion verdict.

Pure numpy/scipy/pyarrow — no Django imports — so the web app, the Celery workers and the
``evaluate`` management command all run the same code. See ``engine.evaluate`` for the report.
"""

from experiments.evaluation import online
from experiments.evaluation.engine import VERDICTS, evaluate
from experiments.evaluation.errors import EvaluationInputError
from experiments.evaluation.gate import GateResult, check_gate
from experiments.evaluation.metrics import DEFAULT_PRIMARY, HIGHER_IS_BETTER, METRICS
from experiments.evaluation.reading import Predictions, Truth, read_predictions, read_truth

__all__ = [
    "DEFAULT_PRIMARY",
    "HIGHER_IS_BETTER",
    "METRICS",
    "VERDICTS",
    "EvaluationInputError",
    "GateResult",
    "Predictions",
    "Truth",
    "check_gate",
    "evaluate",
    "online",
    "read_predictions",
    "read_truth",
]
