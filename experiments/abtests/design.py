"""From a stored online test to the engine's ``Design`` (pure: plain dicts in, engine objects out)."""

from __future__ import annotations

from experiments.evaluation.online import Design, Metric


def engine_design(*, arms: list[dict], primary: dict, guardrails: list[dict], alpha: float) -> Design:
    """The engine's design of a test; ``DesignError`` (naming the field) when it cannot be analysed."""
    return Design(
        arms=[(arm["variant"], float(arm["weight"])) for arm in arms],
        champion=arms[0]["variant"] if arms else "",
        primary=Metric(
            primary["name"],
            kind=primary.get("kind", "binary"),
            higher_is_better=primary.get("higher_is_better", True),
            min_effect=primary.get("min_effect"),
            cuped=bool(primary.get("cuped", False)),
        ),
        guardrails=[
            Metric(
                g["name"],
                kind=g.get("kind", "binary"),
                higher_is_better=g.get("higher_is_better", True),
                margin=g.get("margin"),
                cuped=bool(g.get("cuped", False)),
            )
            for g in guardrails
        ],
        alpha=alpha,
    )
