"""Which way a metric improves, read from its name (scikit-learn's convention: ``*_score``,
accuracy, AUC, F1… higher is better; ``*_loss``, ``*_error`` and their kin lower). Pure.

A name that says neither has no known direction: pages then mark no value as the best.
"""

from __future__ import annotations

import re

LOWER = frozenset(
    {
        "loss",
        "error",
        "err",
        "mse",
        "mae",
        "rmse",
        "mape",
        "smape",
        "rmsle",
        "msle",
        "perplexity",
        "ppl",
        "brier",
        "wer",
        "cer",
        "eer",
        "far",
        "frr",
        "fpr",
        "fnr",
        "latency",
        "regret",
        "distance",
        "nll",
        "deviance",
        "hamming",
    }
)
HIGHER = frozenset(
    {
        "score",
        "acc",
        "accuracy",
        "auc",
        "auroc",
        "auprc",
        "roc",
        "f1",
        "f2",
        "fbeta",
        "precision",
        "recall",
        "r2",
        "map",
        "ndcg",
        "mrr",
        "iou",
        "dice",
        "bleu",
        "rouge",
        "tpr",
        "tnr",
        "specificity",
        "sensitivity",
        "kappa",
        "mcc",
        "gain",
        "reward",
        "top1",
        "top5",
        "hit",
        "hits",
        "coverage",
        "throughput",
    }
)


def higher_is_better(name: str) -> bool | None:
    """True if higher values of the metric ``name`` are better, False if lower are, None if unknown.

    The last word of the name that says a direction decides: ``val_loss`` → lower,
    ``f1_score`` → higher, ``epoch`` → unknown.
    """
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    for word in reversed(words):
        if word in LOWER:
            return False
        if word in HIGHER:
            return True
    return None
