"""Online A/B tests of a champion against challengers on live traffic, with always-valid statistics.

Pure numpy/scipy, no Django: the web app, the Celery workers that aggregate events and the benchmark
run the same code. The pieces, in the order a test meets them:

``assign(salt, unit, arms)``
    Deterministic, sticky, stateless hash assignment (``assignment.py`` documents the exact rule and
    test vectors, so a service can assign locally).
``SufficientStats``
    Per variant and outcome: count, means and centred moments (with a pre-period covariate for CUPED),
    mergeable in any order — ``SufficientStats.from_values(batch)`` then ``total + batch``.
``Design`` / ``Metric`` → ``analyse(design, stats)`` → ``Analysis``
    At any look: the SRM check, every challenger's always-valid confidence sequence on the primary
    outcome and its guardrails (with CUPED when asked), verdicts and the decision they support now.
    ``Analysis.to_dict()`` is JSON-ready.

Lower-level parts: ``sequential`` (the mixture boundary, p-value, tuning, the fixed-horizon test kept
for contrast), ``srm_check``, ``cuped_theta`` / ``cuped_adjust``.

Example::

    design = Design(
        arms=[("champion", 1), ("challenger", 1)],
        champion="champion",
        primary=Metric("authenticated", kind="binary", min_effect=0.02),
        guardrails=[Metric("latency_ms", kind="continuous", higher_is_better=False, margin=5.0)],
    )
    stats = {"champion": {"authenticated": SufficientStats.from_values(y0), ...}, "challenger": {...}}
    result = analyse(design, stats)
    result.decision, result.challenger("challenger").primary.cs_low
"""

from experiments.evaluation.online import sequential
from experiments.evaluation.online.analysis import (
    CHALLENGER_DECISIONS,
    DECISIONS,
    GUARDRAIL_VERDICTS,
    KINDS,
    PRIMARY_VERDICTS,
    Analysis,
    ArmResult,
    ChallengerResult,
    Comparison,
    Design,
    DesignError,
    Metric,
    analyse,
)
from experiments.evaluation.online.assignment import Assigner, assign, assignment_point, boundaries
from experiments.evaluation.online.cuped import cuped_adjust, cuped_theta
from experiments.evaluation.online.srm import SRM_LEVEL, SRMResult, srm_check
from experiments.evaluation.online.sufficient import SufficientStats

__all__ = [
    "CHALLENGER_DECISIONS",
    "DECISIONS",
    "GUARDRAIL_VERDICTS",
    "KINDS",
    "PRIMARY_VERDICTS",
    "SRM_LEVEL",
    "Analysis",
    "ArmResult",
    "Assigner",
    "ChallengerResult",
    "Comparison",
    "Design",
    "DesignError",
    "Metric",
    "SRMResult",
    "SufficientStats",
    "analyse",
    "assign",
    "assignment_point",
    "boundaries",
    "cuped_adjust",
    "cuped_theta",
    "sequential",
    "srm_check",
]
