"""Demo runs for project AUTH: real models trained on synthetic data, their real loss curves.

Idempotent: every demo run has a fixed MLflow id, so running the seeder again changes
nothing. Runs are attached to the project's algorithm-development tickets when they
exist (any ticket otherwise, or none), whichever seeder created those tickets.
"""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from experiments.tracking import services
from experiments.tracking.models import Run, RunStatus
from tickets.models import Project, Ticket, WorkType

_NAMESPACE = uuid.UUID("6f1c2a52-58a4-4b8e-9d3c-0f6c8f2f9a11")


@dataclass
class Epoch:
    step: int
    metrics: dict[str, float]


@dataclass
class DemoRun:
    name: str
    params: dict[str, str]
    train: Callable[[], Iterator[Epoch]]
    ticket_slot: int
    notes: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return uuid.uuid5(_NAMESPACE, self.name).hex


def _data(seed: int = 7):
    """Synthetic "typing rhythm" features: owner (1) versus anyone else (0)."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(
        n_samples=2400,
        n_features=24,
        n_informative=10,
        n_redundant=6,
        class_sep=0.9,
        flip_y=0.04,
        weights=[0.6, 0.4],
        random_state=seed,
    )
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_val), y_train, y_val


def _scores(y_true, proba) -> dict[str, float]:
    from sklearn.metrics import log_loss, roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y_true, proba)
    fnr = 1 - tpr
    index = int(np.nanargmin(np.abs(fnr - fpr)))
    return {
        "val_loss": float(log_loss(y_true, np.clip(proba, 1e-7, 1 - 1e-7))),
        "val_auc": float(roc_auc_score(y_true, proba)),
        "val_eer": float((fpr[index] + fnr[index]) / 2),
    }


def _sgd(alpha: float, epochs: int) -> Callable[[], Iterator[Epoch]]:
    def train() -> Iterator[Epoch]:
        from sklearn.linear_model import SGDClassifier
        from sklearn.metrics import log_loss

        x_train, x_val, y_train, y_val = _data()
        model = SGDClassifier(loss="log_loss", alpha=alpha, learning_rate="optimal", random_state=0)
        rng = np.random.default_rng(0)
        for epoch in range(epochs):
            order = rng.permutation(len(y_train))
            for batch in np.array_split(order, 10):
                model.partial_fit(x_train[batch], y_train[batch], classes=[0, 1])
            train_loss = float(log_loss(y_train, model.predict_proba(x_train)[:, 1]))
            yield Epoch(epoch, {"train_loss": train_loss, **_scores(y_val, model.predict_proba(x_val)[:, 1])})

    return train


def _mlp(hidden: int, epochs: int, learning_rate: float) -> Callable[[], Iterator[Epoch]]:
    def train() -> Iterator[Epoch]:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        x_train, x_val, y_train, y_val = _data()
        model = MLPClassifier(hidden_layer_sizes=(hidden,), learning_rate_init=learning_rate, random_state=0)
        for epoch in range(epochs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(x_train, y_train, classes=[0, 1])
            yield Epoch(epoch, {"train_loss": float(model.loss_), **_scores(y_val, model.predict_proba(x_val)[:, 1])})

    return train


def _boosting(trees: int, depth: int) -> Callable[[], Iterator[Epoch]]:
    def train() -> Iterator[Epoch]:
        from sklearn.ensemble import GradientBoostingClassifier

        x_train, x_val, y_train, y_val = _data()
        model = GradientBoostingClassifier(n_estimators=trees, max_depth=depth, learning_rate=0.1, random_state=0)
        model.fit(x_train, y_train)
        for stage, proba in enumerate(model.staged_predict_proba(x_val)):
            if stage % 2 == 0 or stage == trees - 1:
                yield Epoch(stage, {"train_loss": float(model.train_score_[stage]), **_scores(y_val, proba[:, 1])})

    return train


DEMO_RUNS = [
    DemoRun(
        "sgd-logreg-baseline",
        {"model": "SGDClassifier", "loss": "log_loss", "alpha": "0.0001", "epochs": "30"},
        _sgd(1e-4, 30),
        ticket_slot=0,
        notes="Linear baseline on the 24 rhythm features; the first challenger to the hand-written rule.",
    ),
    DemoRun(
        "sgd-logreg-alpha-0.01",
        {"model": "SGDClassifier", "loss": "log_loss", "alpha": "0.01", "epochs": "30"},
        _sgd(1e-2, 30),
        ticket_slot=0,
    ),
    DemoRun(
        "mlp-64",
        {"model": "MLPClassifier", "hidden": "64", "learning_rate_init": "0.001", "epochs": "40"},
        _mlp(64, 40, 1e-3),
        ticket_slot=1,
        notes="One hidden layer. Validation loss bottoms out around epoch 25, then creeps up: overfitting.",
    ),
    DemoRun(
        "mlp-128-fast",
        {"model": "MLPClassifier", "hidden": "128", "learning_rate_init": "0.01", "epochs": "40"},
        _mlp(128, 40, 1e-2),
        ticket_slot=1,
    ),
    DemoRun(
        "gbdt-150-depth-3",
        {"model": "GradientBoostingClassifier", "n_estimators": "150", "max_depth": "3", "learning_rate": "0.1"},
        _boosting(150, 3),
        ticket_slot=2,
        tags={"candidate": "yes"},
    ),
]


def _target_tickets(project: Project) -> list[Ticket]:
    tickets = list(
        Ticket.objects.filter(project=project, work_type=WorkType.ALGORITHM_DEVELOPMENT).order_by("rank", "number")
    )
    if not tickets:
        tickets = list(Ticket.objects.filter(project=project).order_by("rank", "number")[:3])
    for ticket in tickets:
        ticket.project = project
    return tickets


def _model_card(demo: DemoRun, final: dict[str, float]) -> bytes:
    lines = [f"# {demo.name}", "", "Trained on synthetic typing-rhythm features (seed 7).", "", "## Params"]
    lines += [f"- {k}: {v}" for k, v in demo.params.items()]
    lines += ["", "## Final validation metrics"] + [f"- {k}: {v:.4f}" for k, v in sorted(final.items())]
    return ("\n".join(lines) + "\n").encode()


def seed_runs(*, project: Project, engineer: AbstractBaseUser) -> list[Run]:
    """Create the demo runs that do not exist yet; attach unattached ones to target tickets."""
    tickets = _target_tickets(project)
    runs = []
    for demo in DEMO_RUNS:
        ticket = tickets[demo.ticket_slot % len(tickets)] if tickets else None
        run = Run.objects.filter(uuid=demo.uuid).select_related("project").first()
        if run is None:
            run = _train_and_log(demo, project=project, engineer=engineer, ticket=ticket)
        elif run.ticket_id is None and ticket is not None:
            services.run_attach_ticket(run=run, ticket_key=ticket.key, actor=engineer)
        runs.append(run)
    return runs


@transaction.atomic
def _train_and_log(demo: DemoRun, *, project: Project, engineer: AbstractBaseUser, ticket: Ticket | None) -> Run:
    run = services.run_create(
        project=project,
        user=engineer,
        name=demo.name,
        run_uuid=demo.uuid,
        params=list(demo.params.items()),
        tags=[("mlflow.source.name", "train.py"), *demo.tags.items()],
        notes=demo.notes,
        ticket_key=ticket.key if ticket else None,
    )
    started = services.now_ms()
    final: dict[str, float] = {}
    for epoch in demo.train():
        points = [
            services.MetricPoint(key=k, value=v, step=epoch.step, timestamp=started + epoch.step)
            for k, v in epoch.metrics.items()
        ]
        services.run_log(run=run, metrics=points)
        final = epoch.metrics
    services.artifact_save(run=run, path="model_card.md", stream=io.BytesIO(_model_card(demo, final)))
    services.run_update(run=run, status=RunStatus.FINISHED)
    return run
