"""The online test at one look: SRM check, always-valid comparisons of every challenger with the champion,
guardrails as non-inferiority checks, and the decision they support now.

Error control, stated once:

* **Every look.** Each comparison is a confidence sequence (``sequential.py``): it covers the true
  difference at all looks at once, so the dashboard may be refreshed after every batch and a verdict
  acted on whenever it appears. The state is the arms' sufficient statistics only; nothing about earlier
  looks is needed (an app may additionally keep the smallest p-value seen, which is as valid).
* **Several challengers.** Bonferroni: with K challengers every confidence sequence (primary and
  guardrails) is built at level α/K and every p-value is multiplied by K, so the chance that any
  challenger's primary sequence ever misses its true difference is ≤ α.
* **Guardrails.** A challenger ships only when its primary outcome is better *and* every guardrail is
  shown non-inferior (the sequence's bound on the worse side stays within the margin). Shipping needs
  all of them to hold, an intersection–union test (Berger 1982), so the guardrails need no further
  correction: a wrong ship needs at least one of these level-α/K statements to be wrong.
* **Sample-ratio mismatch** overrides everything: a flagged test is not to be trusted, whatever the
  sequences say.

Verdicts on the primary outcome, per challenger (direction-aware: "better" means higher for a
higher-is-better outcome, lower otherwise):

``better``              the sequence lies entirely on the better side of 0
``worse``               entirely on the worse side of 0
``no_meaningful_lift``  not worse, but it excludes every improvement ≥ the minimum effect that matters
``keep_running``        none of these yet
``insufficient_data``   the data cannot support a sequence yet (``reason`` says why)

On a guardrail: ``holds`` (bound within the margin), ``violated`` (the whole sequence beyond the
margin), ``keep_running``, ``insufficient_data``. The test's ``decision``: ``ship_challenger`` (with the
``variant``: among shippable challengers, the best primary estimate), ``keep_champion`` (every
challenger is worse, too small a lift, or broke a guardrail), ``keep_running``,
``sample_ratio_mismatch`` or ``insufficient_data``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from experiments.evaluation.online import sequential
from experiments.evaluation.online.assignment import validate_arms
from experiments.evaluation.online.cuped import Adjusted, cuped_adjust, cuped_theta, unadjusted
from experiments.evaluation.online.srm import SRM_LEVEL, SRMResult, srm_check
from experiments.evaluation.online.sufficient import SufficientStats

KINDS = ("binary", "continuous")
PRIMARY_VERDICTS = ("better", "worse", "no_meaningful_lift", "keep_running", "insufficient_data")
GUARDRAIL_VERDICTS = ("holds", "violated", "keep_running", "insufficient_data")
CHALLENGER_DECISIONS = ("ship", "keep_champion", "keep_running", "insufficient_data")
DECISIONS = ("ship_challenger", "keep_champion", "keep_running", "sample_ratio_mismatch", "insufficient_data")

MIN_UNITS = 100
# The normal approximation behind the sequence wants a few of each outcome in a binary arm (np ≥ 10).
MIN_BINARY_EACH = 10


class DesignError(ValueError):
    """A test design the engine cannot analyse; ``field`` names the part at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class Metric:
    """An outcome of the test.

    Attributes
    ----------
    name : str
        The key the events use for this outcome.
    kind : {"binary", "continuous"}
        A 0/1 outcome (a rate) or a number.
    higher_is_better : bool
    min_effect : float or None
        Primary outcome only (required there): the smallest improvement worth shipping, in outcome
        units (0.02 = two points on a rate). Sets the mixing scale τ and the ``no_meaningful_lift`` stop.
    margin : float or None
        Guardrails only (required there, > 0): the largest tolerated regression, in outcome units.
        Also the guardrail's mixing scale.
    cuped : bool
        Adjust with the pre-period covariate carried in the statistics (``cuped.py``).
    mixing_scale : float or None
        τ, overriding the default (``min_effect`` or ``margin``); e.g. from
        ``sequential.mixing_variance_for_sample_size`` (τ = its square root).
    """

    name: str
    kind: str = "binary"
    higher_is_better: bool = True
    min_effect: float | None = None
    margin: float | None = None
    cuped: bool = False
    mixing_scale: float | None = None

    @property
    def tau(self) -> float:
        if self.mixing_scale is not None:
            return float(self.mixing_scale)
        return float(self.min_effect if self.margin is None else self.margin)


@dataclass(frozen=True)
class Design:
    """What the test compares and at which error level; validated on construction (``DesignError``)."""

    arms: Sequence[tuple[str, float]]
    champion: str
    primary: Metric
    guardrails: Sequence[Metric] = ()
    alpha: float = 0.05
    srm_level: float = SRM_LEVEL
    min_units: int = MIN_UNITS

    def __post_init__(self) -> None:
        try:
            arms = tuple(validate_arms(self.arms))
        except ValueError as error:
            raise DesignError("arms", str(error).removeprefix("arms: ")) from None
        object.__setattr__(self, "arms", arms)
        object.__setattr__(self, "guardrails", tuple(self.guardrails))
        if self.champion not in {variant for variant, _ in arms}:
            raise DesignError("champion", f"{self.champion!r} is not one of the arms")
        if not isinstance(self.alpha, int | float) or not 0 < self.alpha < 0.5:
            raise DesignError("alpha", f"must be a number between 0 and 0.5, not {self.alpha!r}")
        if not isinstance(self.srm_level, int | float) or not 0 < self.srm_level < 1:
            raise DesignError("srm_level", f"must be a number between 0 and 1, not {self.srm_level!r}")
        if isinstance(self.min_units, bool) or not isinstance(self.min_units, int) or self.min_units < 2:
            raise DesignError("min_units", f"must be a whole number ≥ 2, not {self.min_units!r}")
        _check_metric(self.primary, "primary", role="primary")
        names = {self.primary.name}
        for k, metric in enumerate(self.guardrails):
            where = f"guardrails[{k}]"
            _check_metric(metric, where, role="guardrail")
            if metric.name in names:
                raise DesignError(f"{where}.name", f"{metric.name!r} is already an outcome of this test")
            names.add(metric.name)

    @property
    def challengers(self) -> tuple[str, ...]:
        return tuple(variant for variant, _ in self.arms if variant != self.champion)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (self.primary, *self.guardrails)

    @property
    def level(self) -> float:
        """The level of each confidence sequence: α split evenly over the challengers (Bonferroni)."""
        return self.alpha / len(self.challengers)


def _check_metric(metric: Metric, where: str, *, role: str) -> None:
    if not isinstance(metric, Metric):
        raise DesignError(where, "must be a Metric")
    if not isinstance(metric.name, str) or not metric.name:
        raise DesignError(f"{where}.name", "needs a non-empty name")
    if metric.kind not in KINDS:
        raise DesignError(f"{where}.kind", f"must be one of {', '.join(KINDS)}, not {metric.kind!r}")

    def positive(attribute: str, value) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise DesignError(f"{where}.{attribute}", f"must be a number > 0, not {value!r}")

    if role == "primary":
        if metric.margin is not None:
            raise DesignError(f"{where}.margin", "the primary outcome has a minimum effect, not a margin")
        positive("min_effect", metric.min_effect)
    else:
        if metric.min_effect is not None:
            raise DesignError(f"{where}.min_effect", "a guardrail has a margin, not a minimum effect")
        # A margin of 0 would demand that the challenger be shown *better* on the guardrail.
        positive("margin", metric.margin)
    if metric.mixing_scale is not None:
        positive("mixing_scale", metric.mixing_scale)


# --- results --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Challenger − champion on one outcome at this look.

    ``cs_low``/``cs_high`` bound the always-valid confidence sequence at level ``level`` (α/K);
    ``p_value`` is the always-valid p-value of "no difference", Bonferroni-adjusted (× K, capped at 1),
    so it is ≤ α exactly when the sequence excludes 0. All None with ``insufficient_data``.
    """

    metric: str
    challenger: str
    role: str
    verdict: str
    estimate: float | None = None
    cs_low: float | None = None
    cs_high: float | None = None
    p_value: float | None = None
    level: float | None = None
    cuped: bool = False
    variance_reduction: float | None = None
    margin: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "challenger": self.challenger,
            "role": self.role,
            "verdict": self.verdict,
            "estimate": self.estimate,
            "cs_low": self.cs_low,
            "cs_high": self.cs_high,
            "p_value": self.p_value,
            "level": self.level,
            "cuped": self.cuped,
            "variance_reduction": self.variance_reduction,
            "margin": self.margin,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ChallengerResult:
    variant: str
    primary: Comparison
    guardrails: tuple[Comparison, ...]
    decision: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "variant": self.variant,
            "primary": self.primary.to_dict(),
            "guardrails": [g.to_dict() for g in self.guardrails],
            "decision": self.decision,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class ArmResult:
    """One arm: its planned weight, units and the mean of every outcome (None without units)."""

    variant: str
    weight: float
    units: int
    estimate: float | None
    means: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "variant": self.variant,
            "weight": self.weight,
            "units": self.units,
            "estimate": self.estimate,
            "means": dict(self.means),
        }


@dataclass(frozen=True)
class Analysis:
    arms: tuple[ArmResult, ...]
    srm: SRMResult
    challengers: tuple[ChallengerResult, ...]
    decision: str
    variant: str | None
    reasons: tuple[str, ...]
    alpha: float
    level: float

    def challenger(self, variant: str) -> ChallengerResult:
        for result in self.challengers:
            if result.variant == variant:
                return result
        raise KeyError(variant)

    def to_dict(self) -> dict:
        """JSON-ready (every number finite or None)."""
        return {
            "decision": self.decision,
            "variant": self.variant,
            "reasons": list(self.reasons),
            "alpha": self.alpha,
            "level": self.level,
            "arms": [arm.to_dict() for arm in self.arms],
            "srm": self.srm.to_dict(),
            "challengers": [c.to_dict() for c in self.challengers],
        }


# --- the analysis -----------------------------------------------------------------------------------------
Stats = Mapping[str, Mapping[str, SufficientStats]]


def analyse(design: Design, stats: Stats, *, units: Mapping[str, int] | None = None) -> Analysis:
    """Analyse the test at this look.

    Parameters
    ----------
    design : Design
    stats : {variant: {metric name: SufficientStats}}
        The running totals; a variant or metric with no events yet may be left out.
    units : {variant: int}, optional
        Units per arm for the SRM check; by default the units with a primary outcome.

    Raises ValueError for a variant or metric name that is not part of the design.
    """
    variants = [variant for variant, _ in design.arms]
    metric_names = {metric.name for metric in design.metrics}
    for variant, by_metric in stats.items():
        if variant not in variants:
            raise ValueError(f"stats: variant {variant!r} is not an arm of this test")
        for name, value in by_metric.items():
            if name not in metric_names:
                raise ValueError(f"stats: {name!r} is not an outcome of this test")
            if not isinstance(value, SufficientStats):
                raise ValueError(f"stats: {variant!r}/{name!r} must be SufficientStats")

    def get(variant: str, metric: Metric) -> SufficientStats:
        return stats.get(variant, {}).get(metric.name, SufficientStats())

    if units is None:
        units = {variant: get(variant, design.primary).n for variant in variants}
    srm = srm_check(units, design.arms, level=design.srm_level)

    arms = tuple(
        ArmResult(
            variant=variant,
            weight=weight,
            units=get(variant, design.primary).n,
            estimate=_mean(get(variant, design.primary)),
            means={metric.name: _mean(get(variant, metric)) for metric in design.metrics},
        )
        for variant, weight in design.arms
    )

    k = len(design.challengers)
    challengers = []
    for variant in design.challengers:
        compared = {
            metric.name: _compare(design, metric, variant, [get(v, metric) for v in variants], variants, k)
            for metric in design.metrics
        }
        primary = compared[design.primary.name]
        guardrails = tuple(compared[metric.name] for metric in design.guardrails)
        decision, reasons = _challenger_decision(primary, guardrails)
        challengers.append(ChallengerResult(variant, primary, guardrails, decision, reasons))

    decision, variant, reasons = _test_decision(design, srm, challengers)
    return Analysis(
        arms=arms,
        srm=srm,
        challengers=tuple(challengers),
        decision=decision,
        variant=variant,
        reasons=reasons,
        alpha=design.alpha,
        level=design.level,
    )


def _mean(arm: SufficientStats) -> float | None:
    return arm.mean if arm.n else None


def _not_enough(design: Design, metric: Metric, champion: SufficientStats, challenger: SufficientStats) -> str | None:
    """Why the two arms cannot support a sequence yet, or None."""
    for who, arm in (("the champion", champion), ("the challenger", challenger)):
        if arm.n == 0:
            return f"no {metric.name} outcomes from {who} yet"
    if min(champion.n, challenger.n) < design.min_units:
        return (
            f"{metric.name}: each arm needs {design.min_units} units before the first verdict "
            f"(champion {champion.n}, challenger {challenger.n})"
        )
    for who, arm in (("the champion", champion), ("the challenger", challenger)):
        if metric.kind == "binary":
            ones = arm.successes
            if min(ones, arm.n - ones) < MIN_BINARY_EACH:
                return (
                    f"{metric.name}: {who} needs at least {MIN_BINARY_EACH} units with each outcome "
                    f"(has {ones} ones and {arm.n - ones} zeros)"
                )
        elif arm.m2 <= 0:
            return f"{metric.name}: the outcome has not varied yet in {who}'s arm"
    return None


def _compare(
    design: Design,
    metric: Metric,
    variant: str,
    all_arms: list[SufficientStats],
    variants: list[str],
    k: int,
) -> Comparison:
    role = "primary" if metric is design.primary else "guardrail"
    champion = all_arms[variants.index(design.champion)]
    challenger = all_arms[variants.index(variant)]
    base = {"metric": metric.name, "challenger": variant, "role": role, "margin": metric.margin}
    why = _not_enough(design, metric, champion, challenger)
    if why is not None:
        return Comparison(verdict="insufficient_data", reason=why, **base)

    a, b = unadjusted(champion), unadjusted(challenger)
    raw_variance = a.variance / a.n + b.variance / b.n
    cuped_on, reduction, note = False, None, None
    if metric.cuped:
        theta = cuped_theta(all_arms)
        if theta is None:
            note = f"{metric.name}: the pre-period covariate has no variance, so CUPED was not applied"
        else:
            pooled_x = SufficientStats.combine(all_arms).covariate_mean
            a = cuped_adjust(champion, theta=theta, pooled_covariate_mean=pooled_x)
            b = cuped_adjust(challenger, theta=theta, pooled_covariate_mean=pooled_x)
            cuped_on = True
    estimate, variance = _difference(a, b)
    if not variance > 0 or not math.isfinite(variance) or not math.isfinite(estimate):
        return Comparison(
            verdict="insufficient_data",
            reason=f"{metric.name}: the difference has no usable variance yet",
            cuped=cuped_on,
            **base,
        )
    if cuped_on:
        reduction = 1 - variance / raw_variance
    level = design.level
    tau2 = metric.tau**2
    h = sequential.half_width(variance, tau2, level)
    p = min(1.0, k * sequential.p_value(estimate, variance, tau2))
    low, high = estimate - h, estimate + h
    verdict = _guardrail_verdict(metric, low, high) if role == "guardrail" else _primary_verdict(metric, low, high)
    return Comparison(
        verdict=verdict,
        estimate=estimate,
        cs_low=low,
        cs_high=high,
        p_value=p,
        level=level,
        cuped=cuped_on,
        variance_reduction=reduction,
        reason=note,
        **base,
    )


def _difference(champion: Adjusted, challenger: Adjusted) -> tuple[float, float]:
    return (
        challenger.mean - champion.mean,
        challenger.variance / challenger.n + champion.variance / champion.n,
    )


def _primary_verdict(metric: Metric, low: float, high: float) -> str:
    # Flip a lower-is-better outcome so that "better" is always "above 0".
    if not metric.higher_is_better:
        low, high = -high, -low
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    if high < metric.min_effect:
        return "no_meaningful_lift"
    return "keep_running"


def _guardrail_verdict(metric: Metric, low: float, high: float) -> str:
    if not metric.higher_is_better:
        low, high = -high, -low
    if low > -metric.margin:
        return "holds"
    if high < -metric.margin:
        return "violated"
    return "keep_running"


def _fmt(value: float) -> str:
    return f"{value:+.4g}"


def _describe(c: Comparison) -> str:
    return (
        f"{c.metric}: Δ {_fmt(c.estimate)} (always-valid {1 - c.level:.1%} CS {_fmt(c.cs_low)} to "
        f"{_fmt(c.cs_high)}, p = {c.p_value:.2g})"
    )


def _challenger_decision(primary: Comparison, guardrails: tuple[Comparison, ...]) -> tuple[str, tuple[str, ...]]:
    who = f"challenger {primary.challenger!r}"
    violated = [g for g in guardrails if g.verdict == "violated"]
    if violated:
        return "keep_champion", tuple(
            f"{who} regressed {g.metric} beyond the margin {g.margin:g}: {_describe(g)}" for g in violated
        )
    if primary.verdict == "worse":
        return "keep_champion", (f"{who} is worse on {_describe(primary)}",)
    if primary.verdict == "no_meaningful_lift":
        return "keep_champion", (f"{who} cannot be better by the minimum effect that matters: {_describe(primary)}",)
    if primary.verdict == "better":
        pending = [g for g in guardrails if g.verdict != "holds"]
        if not pending:
            held = [f"guardrail {g.metric} held (margin {g.margin:g})" for g in guardrails]
            return "ship", (f"{who} is better on {_describe(primary)}", *held)
        return "keep_running", (
            f"{who} is better on {_describe(primary)}, but not yet shown within the margin on "
            + ", ".join(g.metric for g in pending),
        )
    if primary.verdict == "insufficient_data":
        return "insufficient_data", (f"{who}: {primary.reason}",)
    return "keep_running", (f"{who}: no verdict yet on {_describe(primary)}",)


def _test_decision(
    design: Design, srm: SRMResult, challengers: list[ChallengerResult]
) -> tuple[str, str | None, tuple[str, ...]]:
    reasons = tuple(reason for c in challengers for reason in c.reasons)
    if srm.flagged:
        return "sample_ratio_mismatch", None, (srm.reason, *reasons)
    shippable = [c for c in challengers if c.decision == "ship"]
    if shippable:
        sign = 1 if design.primary.higher_is_better else -1
        best = max(shippable, key=lambda c: sign * c.primary.estimate)
        return "ship_challenger", best.variant, reasons
    decisions = {c.decision for c in challengers}
    if decisions == {"keep_champion"}:
        return "keep_champion", None, reasons
    if decisions == {"insufficient_data"}:
        return "insufficient_data", None, reasons
    return "keep_running", None, reasons
