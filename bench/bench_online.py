"""Online A/B tests: calibration of the always-valid statistics by simulation (`python -m bench online`).

Every trial streams units in batches through the engine's public API exactly as the app's workers will:
each batch's units are split at random by the planned weights (so the SRM check sees real noise), each
arm's outcomes are summarised into ``SufficientStats`` (binary outcomes as one binomial draw per arm and
batch, which is exact; log-normal outcomes drawn unit by unit), merged into the running totals, and
``analyse()`` runs after every batch — a look. A trial counts a verdict the first time one appears.

Beside the chosen method, on the same data: the fixed-horizon Welch t test (``welch_p_value``)
peeked at after every batch (the mistake) and looked at once at the end (its honest use), and the
rejected candidate, the asymptotic confidence sequence on inverse-propensity pseudo-outcomes of
Waudby-Smith et al. (2024), tuned at the planned sample size.

``calibration_rows(trials, processes)`` returns the table (a list of dicts) for the calibration
benchmark; ``main()`` prints it with the wall time. With T trials the Monte Carlo standard error of a
rate p is √(p(1 − p)/T) (1.1% at p = 5%, T = 400).

    python -m bench online                          # 400 trials per scenario, both cores
    python -m bench.bench_online --trials 1000 --processes 2
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from experiments.evaluation.online import Design, Metric, SufficientStats, analyse, sequential, srm_check

TRIALS = 400
ALPHA = 0.05
SEED = 20260
LOGNORMAL_SIGMA = 1.0


@dataclass(frozen=True)
class Scenario:
    """``truth`` per variant: the success rate (binary) or the log-scale shift (log-normal)."""

    key: str
    title: str
    kind: str
    truth: dict[str, float]
    batch_units: int
    looks: int
    min_effect: float
    weights: dict[str, float] = field(default_factory=dict)
    # Log-normal only: correlation on the log scale between the pre-period covariate and the outcome.
    covariate_rho: float = 0.0

    @property
    def variants(self) -> list[str]:
        return list(self.truth)

    @property
    def arms(self) -> list[tuple[str, float]]:
        return [(v, self.weights.get(v, 1.0)) for v in self.variants]

    def mean(self, variant: str) -> float:
        if self.kind == "binary":
            return self.truth[variant]
        return math.exp(self.truth[variant] + LOGNORMAL_SIGMA**2 / 2)

    def true_difference(self, variant: str) -> float:
        return self.mean(variant) - self.mean(self.variants[0])

    def units_per_arm(self) -> int:
        return self.batch_units * self.looks // len(self.truth)


SCENARIOS = {
    s.key: s
    for s in (
        Scenario(
            "null",
            "binary 70% vs 70%, a look every 100 units per arm up to 20,000 per arm (200 looks)",
            "binary",
            {"champion": 0.70, "challenger": 0.70},
            batch_units=200,
            looks=200,
            min_effect=0.02,
        ),
        Scenario(
            "null_total",
            "binary 70% vs 70%, a look every 100 units (both arms) up to 20,000 units (200 looks)",
            "binary",
            {"champion": 0.70, "challenger": 0.70},
            batch_units=100,
            looks=200,
            min_effect=0.02,
        ),
        Scenario(
            "rare",
            "binary 3% vs 3% (a rare outcome), a look every 100 units per arm up to 20,000 per arm",
            "binary",
            {"champion": 0.03, "challenger": 0.03},
            batch_units=200,
            looks=200,
            min_effect=0.005,
        ),
        Scenario(
            "lift",
            "binary 70% vs 72% (+2 points), a look every 100 units per arm up to 20,000 per arm",
            "binary",
            {"champion": 0.70, "challenger": 0.72},
            batch_units=200,
            looks=200,
            min_effect=0.02,
        ),
        Scenario(
            "three",
            "binary 70% in 4 arms (3 challengers, Bonferroni), a look every 100 units per arm to 20,000",
            "binary",
            {"champion": 0.70, "b": 0.70, "c": 0.70, "d": 0.70},
            batch_units=400,
            looks=200,
            min_effect=0.02,
        ),
        Scenario(
            "lognormal",
            "log-normal (σ = 1) revenue, challenger +3% in the mean, pre-period covariate (log-scale ρ = 0.8), "
            "a look every 100 units per arm up to 20,000 per arm; without and with CUPED",
            "lognormal",
            {"champion": 0.0, "challenger": math.log(1.03)},
            batch_units=200,
            looks=200,
            min_effect=0.05,
            covariate_rho=0.8,
        ),
    )
}


# --- one trial ------------------------------------------------------------------------------------------
def _design(s: Scenario, *, cuped: bool) -> Design:
    return Design(
        arms=s.arms,
        champion=s.variants[0],
        primary=Metric(
            "y", kind="continuous" if s.kind == "lognormal" else "binary", min_effect=s.min_effect, cuped=cuped
        ),
        alpha=ALPHA,
    )


def _batch(s: Scenario, rng: np.random.Generator) -> dict[str, SufficientStats]:
    weights = np.array([w for _, w in s.arms])
    counts = rng.multinomial(s.batch_units, weights / weights.sum())
    out = {}
    for variant, n in zip(s.variants, counts, strict=True):
        if s.kind == "binary":
            out[variant] = SufficientStats.from_counts(int(n), int(rng.binomial(n, s.truth[variant])))
        else:
            z_pre = rng.standard_normal(n)
            z = s.covariate_rho * z_pre + math.sqrt(1 - s.covariate_rho**2) * rng.standard_normal(n)
            out[variant] = SufficientStats.from_values(
                np.exp(s.truth[variant] + LOGNORMAL_SIGMA * z), np.exp(LOGNORMAL_SIGMA * z_pre)
            )
    return out


def _ipw_tau2(s: Scenario, variant: str) -> float:
    """The candidate's mixing variance, tuned at the planned size with the true second moments (its best case)."""
    champion = s.variants[0]
    total = s.weights.get(champion, 1.0) + s.weights.get(variant, 1.0)
    pi = s.weights.get(variant, 1.0) / total
    second = {v: _second_moment(s, v) for v in (champion, variant)}
    variance = second[variant] / pi + second[champion] / (1 - pi) - s.true_difference(variant) ** 2
    planned_units = 2 * s.units_per_arm()
    return sequential.optimal_mixing_ratio(ALPHA) * variance / planned_units


def _second_moment(s: Scenario, variant: str) -> float:
    if s.kind == "binary":
        return s.truth[variant]
    return math.exp(2 * s.truth[variant] + 2 * LOGNORMAL_SIGMA**2)


def run_trial(args: tuple[str, np.random.SeedSequence]) -> dict:
    key, seed = args
    s = SCENARIOS[key]
    rng = np.random.default_rng(seed)
    designs = {"cs": _design(s, cuped=False)}
    if s.kind == "lognormal":
        designs["cuped"] = _design(s, cuped=True)
    champion, challengers = s.variants[0], s.variants[1:]
    totals = {v: SufficientStats() for v in s.variants}
    first = {(name, v, verdict): None for name in designs for v in challengers for verdict in ("better", "worse")}
    missed = {(name, v): False for name in designs for v in challengers}
    srm_flagged = False
    reduction = None
    history = {v: [] for v in s.variants}
    for _ in range(s.looks):
        for variant, part in _batch(s, rng).items():
            totals[variant] = totals[variant] + part
            history[variant].append(totals[variant])
        stats = {v: {"y": totals[v]} for v in s.variants}
        for name, design in designs.items():
            result = analyse(design, stats)
            srm_flagged |= result.srm.flagged
            for c in result.challengers:
                p = c.primary
                units = min(totals[champion].n, totals[c.variant].n)
                if p.verdict in ("better", "worse") and first[(name, c.variant, p.verdict)] is None:
                    first[(name, c.variant, p.verdict)] = units
                if p.cs_low is not None and not p.cs_low <= s.true_difference(c.variant) <= p.cs_high:
                    missed[(name, c.variant)] = True
                if name == "cuped" and p.variance_reduction is not None:
                    reduction = p.variance_reduction
    trial = {
        "first": first,
        "missed": missed,
        "srm_flagged": srm_flagged,
        "reduction": reduction,
    }
    # The contrasts, on the same data: every look at once, vectorised.
    if len(challengers) == 1:
        trial.update(_contrasts(s, history))
    return trial


def _contrasts(s: Scenario, history: dict[str, list[SufficientStats]]) -> dict:
    champion, challenger = s.variants
    a, b = history[champion], history[challenger]
    n_a = np.array([x.n for x in a], dtype=float)
    n_b = np.array([x.n for x in b], dtype=float)
    ok = (n_a >= 2) & (n_b >= 2)
    mean_a = np.array([x.mean for x in a])
    mean_b = np.array([x.mean for x in b])
    var_a = np.array([x.m2 for x in a]) / np.maximum(n_a - 1, 1)
    var_b = np.array([x.m2 for x in b]) / np.maximum(n_b - 1, 1)
    ok &= (var_a + var_b) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sequential.welch_p_value(mean_a, var_a, n_a, mean_b, var_b, n_b)
    p = np.where(ok, p, 1.0)
    # Inverse-propensity pseudo-outcomes φ = y·(A/π − (1 − A)/(1 − π)), from the arms' sums.
    pi = s.weights.get(challenger, 1.0) / (s.weights.get(champion, 1.0) + s.weights.get(challenger, 1.0))
    total = n_a + n_b
    sum_phi = n_b * mean_b / pi - n_a * mean_a / (1 - pi)
    sum_sq = np.array([x.sum_squares for x in b]) / pi**2 + np.array([x.sum_squares for x in a]) / (1 - pi) ** 2
    phi_mean = sum_phi / total
    phi_var = (sum_sq - total * phi_mean**2) / (total - 1)
    usable = ok & (np.minimum(n_a, n_b) >= 100) & (phi_var > 0)
    h = sequential.half_width(np.where(usable, phi_var / total, 1.0), _ipw_tau2(s, challenger), ALPHA)
    truth = s.true_difference(challenger)
    low, high = phi_mean - h, phi_mean + h
    better = usable & (low > 0)
    units = np.minimum(n_a, n_b)
    return {
        "welch_ever": bool((p < ALPHA).any()),
        "welch_ever_better": bool(((p < ALPHA) & (mean_b > mean_a)).any()),
        "welch_final": bool(p[-1] < ALPHA),
        "welch_final_better": bool(p[-1] < ALPHA and mean_b[-1] > mean_a[-1]),
        "ipw_better": int(units[better][0]) if better.any() else None,
        "ipw_any": bool((usable & ((low > 0) | (high < 0))).any()),
        "ipw_missed": bool((usable & ((low > truth) | (high < truth))).any()),
    }


# --- the table ----------------------------------------------------------------------------------------------
def _run(key: str, trials: int, pool) -> list[dict]:
    # Seeded by the scenario's name, so adding a scenario leaves the others' figures unchanged.
    seeds = np.random.SeedSequence([SEED, zlib.crc32(key.encode())]).spawn(trials)
    jobs = [(key, seed) for seed in seeds]
    if pool is None:
        return [run_trial(job) for job in jobs]
    return pool.map(run_trial, jobs, chunksize=max(1, trials // 40))


def _rate(values) -> float:
    return float(np.mean(values))


def _row(
    scenario: str, check: str, value: float | None, target: str | None = None, ok: bool | None = None, unit: str = "%"
) -> dict:
    return {"scenario": scenario, "check": check, "value": value, "unit": unit, "target": target, "ok": ok}


def _declared(trials: list[dict], name: str, variant: str, verdict: str) -> list[int | None]:
    return [t["first"][(name, variant, verdict)] for t in trials]


def _median_units(values: list[int | None]) -> float | None:
    hits = [v for v in values if v is not None]
    return float(np.median(hits)) if hits else None


def calibration_rows(trials: int = TRIALS, processes: int | None = 2) -> list[dict]:
    """Run every scenario and return the table rows: scenario, check, value, unit, target, ok."""
    pool = multiprocessing.get_context("fork").Pool(processes) if processes and processes > 1 else None
    try:
        results = {key: _run(key, trials, pool) for key in SCENARIOS}
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    rows: list[dict] = []
    at = f"{trials} trials"

    for key in ("null", "null_total", "rare"):
        r, s = results[key], SCENARIOS[key]
        better = _rate([v is not None for v in _declared(r, "cs", "challenger", "better")])
        either = _rate(
            [
                t["first"][("cs", "challenger", "better")] is not None
                or t["first"][("cs", "challenger", "worse")] is not None
                for t in r
            ]
        )
        rows += [
            _row(
                s.title, f"always-valid CS: ever declares the challenger better ({at})", better, "≤ 5%", better <= ALPHA
            ),
            _row(
                s.title, "always-valid CS: ever declares any winner (better or worse)", either, "≤ 5%", either <= ALPHA
            ),
            _row(
                s.title,
                "always-valid CS: covers the true difference at every look",
                1 - _rate([t["missed"][("cs", "challenger")] for t in r]),
                "≥ 95%",
                _rate([t["missed"][("cs", "challenger")] for t in r]) <= ALPHA,
            ),
            _row(
                s.title,
                "fixed-horizon Welch t peeked after every batch: ever 'better' at p < 0.05",
                _rate([t["welch_ever_better"] for t in r]),
                "contrast",
            ),
            _row(
                s.title,
                "fixed-horizon Welch t peeked after every batch: ever p < 0.05 (either way)",
                _rate([t["welch_ever"] for t in r]),
                "contrast",
            ),
            _row(
                s.title,
                "fixed-horizon Welch t at the final look only: p < 0.05",
                _rate([t["welch_final"] for t in r]),
                "contrast",
            ),
            _row(
                s.title,
                "candidate: IPW asymptotic CS, ever declares a winner",
                _rate([t["ipw_any"] for t in r]),
                "≤ 5%",
            ),
            _row(
                s.title,
                "SRM check (chi-square at 0.001) after every look: ever flagged, though the split is right",
                _rate([t["srm_flagged"] for t in r]),
            ),
        ]

    r, s = results["lift"], SCENARIOS["lift"]
    declared = _declared(r, "cs", "challenger", "better")
    power = _rate([v is not None for v in declared])
    missed = _rate([t["missed"][("cs", "challenger")] for t in r])
    ipw = [t["ipw_better"] for t in r]
    rows += [
        _row(s.title, f"always-valid CS: declares better before 20,000 per arm ({at})", power, "≥ 80%", power >= 0.80),
        _row(
            s.title, "always-valid CS: median units per arm at the declaration", _median_units(declared), unit="units"
        ),
        _row(
            s.title,
            "always-valid CS: ever declares worse",
            _rate([v is not None for v in _declared(r, "cs", "challenger", "worse")]),
            "≤ 5%",
        ),
        _row(
            s.title, "always-valid CS: covers the true difference at every look", 1 - missed, "≥ 95%", missed <= ALPHA
        ),
        _row(
            s.title,
            "fixed-horizon Welch t at 20,000 per arm (one look): better at p < 0.05",
            _rate([t["welch_final_better"] for t in r]),
            "contrast",
        ),
        _row(
            s.title,
            "candidate: IPW asymptotic CS declares better before 20,000 per arm",
            _rate([v is not None for v in ipw]),
            "contrast",
        ),
        _row(
            s.title,
            "candidate: IPW asymptotic CS, median units per arm at the declaration",
            _median_units(ipw),
            unit="units",
        ),
        _row(
            s.title,
            "candidate: IPW asymptotic CS covers at every look",
            1 - _rate([t["ipw_missed"] for t in r]),
            "≥ 95%",
        ),
    ]

    r, s = results["three"], SCENARIOS["three"]
    challengers = s.variants[1:]
    false_win = _rate([any(t["first"][("cs", v, "better")] is not None for v in challengers) for t in r])
    any_miss = _rate([any(t["missed"][("cs", v)] for v in challengers) for t in r])
    rows += [
        _row(
            s.title,
            f"always-valid CS at α/3: any challenger ever declared better ({at})",
            false_win,
            "≤ 5%",
            false_win <= ALPHA,
        ),
        _row(
            s.title, "always-valid CS at α/3: all three cover at every look", 1 - any_miss, "≥ 95%", any_miss <= ALPHA
        ),
    ]

    r, s = results["lognormal"], SCENARIOS["lognormal"]
    for name, label in (("cs", "without CUPED"), ("cuped", "with CUPED")):
        missed = _rate([t["missed"][(name, "challenger")] for t in r])
        declared = _declared(r, name, "challenger", "better")
        rows += [
            _row(
                s.title,
                f"{label}: covers the true difference at every look ({at})",
                1 - missed,
                "≥ 95%",
                missed <= ALPHA,
            ),
            _row(s.title, f"{label}: declares better before 20,000 per arm", _rate([v is not None for v in declared])),
            _row(s.title, f"{label}: median units per arm at the declaration", _median_units(declared), unit="units"),
        ]
    rows.append(
        _row(
            s.title,
            "CUPED: variance reduction of the difference at the last look (median)",
            float(np.median([t["reduction"] for t in r])),
        )
    )

    rows += _srm_rows(trials)
    return rows


def _srm_rows(trials: int) -> list[dict]:
    title = "sample-ratio mismatch: a 50/50 test receiving 51/49 over 100,000 units"
    exact = srm_check({"champion": 51_000, "challenger": 49_000}, [("champion", 1), ("challenger", 1)])
    rng = np.random.default_rng(SEED)
    flagged = []
    for _ in range(trials):
        champion = int(rng.binomial(100_000, 0.51))
        flagged.append(
            srm_check(
                {"champion": champion, "challenger": 100_000 - champion}, [("champion", 1), ("challenger", 1)]
            ).flagged
        )
    return [
        _row(
            title,
            f"exactly 51,000 / 49,000: flagged at 0.001 (p = {exact.p_value:.1e})",
            float(exact.flagged),
            "flagged",
            exact.flagged,
        ),
        _row(
            title,
            f"units assigned with probability 0.51: flagged ({trials} trials)",
            _rate(flagged),
            "≥ 95%",
            _rate(flagged) >= 0.95,
        ),
    ]


def _format(row: dict) -> str:
    value = row["value"]
    if value is None:  # e.g. a median of declarations when no trial declared
        return f"  {'n/a':>8}  {row['check']}"
    shown = f"{value:8.1%}" if row["unit"] == "%" else f"{value:8,.0f}"
    verdict = "" if row["ok"] is None else ("  ok" if row["ok"] else "  MISSED")
    target = f"  [{row['target']}]" if row["target"] else ""
    return f"  {shown}  {row['check']}{target}{verdict}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_online")
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv or [])
    started = time.perf_counter()
    rows = calibration_rows(args.trials, args.processes)
    wall = time.perf_counter() - started
    scenario = None
    for row in rows:
        if row["scenario"] != scenario:
            scenario = row["scenario"]
            print(f"\n{scenario}")
        print(_format(row))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{args.trials} trials per scenario on {args.processes} processes: {wall:.1f} s wall (load average {load})")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
