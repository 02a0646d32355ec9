"""Demo benchmark for project AUTH: synthetic behavioural-biometrics data, real models, real evaluations.

The data is **synthetic**, generated here from a fixed seed: 48 subjects, each with a personal
typing rhythm (key dwell and flight times, typing speed) and a personal way of holding the phone
(tilt, tremor, sway), observed in 24 windows of typing with window-to-window noise. Twelve subjects
are held out as the evaluation set. A verification attempt claims to be a subject: its features are
the distances between one window and the claimed subject's enrolment template (the mean of six
windows); it is *genuine* (label 1) when the window is the subject's own and an *impostor* attempt
(label 0) otherwise. The claimed subject is the attempt's group, so every interval accounts for
several attempts per subject.

The baseline champion is a hand-written rule on dwell time. The challengers are scikit-learn models
trained here, on the 36 training subjects, when the demo is seeded. Every evaluation goes through
``evaluation_request`` and ``evaluation_execute`` — the service the workers call, run synchronously
so the demo is ready at once — and a challenger is promoted only when the real gate passes. The
promotions are dated inside the demo sprints (when the planning demo created them) so the champion
history reads sprint by sprint. Idempotent: nothing happens when the benchmark already exists.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from experiments.benchmarks import services
from experiments.benchmarks.models import Benchmark, Evaluation, PredictionSource
from experiments.tracking import services as run_services
from experiments.tracking.models import Run, RunStatus
from tickets.models import Project, Sprint, SprintState, Ticket, WorkType

BENCHMARK_NAME = "held-out-subjects"
SEED = 20240611
N_SUBJECTS = 48
N_HELD_OUT = 12
N_WINDOWS = 24
N_ENROL = 6
IMPOSTORS_PER_SUBJECT = 36
TYPING = ["dwell_ms", "dwell_sd_ms", "flight_ms", "flight_sd_ms", "keys_per_s"]
MOTION = ["tilt_deg", "tremor", "accel_sd", "gyro_energy", "sway"]
# Between-subject spread and window-to-window noise of each feature: typing is personal and
# steady, motion is personal but noisy (it depends on where the owner happens to be).
PROFILE = {
    "dwell_ms": (95, 18, 11),
    "dwell_sd_ms": (25, 6, 5),
    "flight_ms": (170, 35, 30),
    "flight_sd_ms": (60, 12, 14),
    "keys_per_s": (4.5, 1.0, 0.7),
    "tilt_deg": (35, 8, 14),
    "tremor": (0.5, 0.15, 0.3),
    "accel_sd": (0.8, 0.2, 0.4),
    "gyro_energy": (0.3, 0.1, 0.2),
    "sway": (1.0, 0.3, 0.6),
}
_NAMESPACE = uuid.UUID("0d3b6c59-8f0a-4a6e-9a59-6b1f0d9c2e47")


@dataclass
class Attempts:
    """Verification attempts: |z| distances to the claimed subject's template, labels and groups."""

    ids: list[str]
    distances: np.ndarray  # rows × features, in TYPING + MOTION order
    labels: np.ndarray
    groups: list[str]

    def columns(self, names: list[str]) -> np.ndarray:
        order = TYPING + MOTION
        return self.distances[:, [order.index(n) for n in names]]


def synthetic_attempts(seed: int = SEED) -> tuple[Attempts, Attempts]:
    """(training attempts, held-out attempts), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    features = TYPING + MOTION
    means = np.array([PROFILE[f][0] for f in features])
    between = np.array([PROFILE[f][1] for f in features])
    within = np.array([PROFILE[f][2] for f in features])
    profiles = means + rng.normal(0, 1, (N_SUBJECTS, len(features))) * between
    windows = profiles[:, None, :] + rng.normal(0, 1, (N_SUBJECTS, N_WINDOWS, len(features))) * within
    templates = windows[:, :N_ENROL].mean(axis=1)
    attempts_windows = windows[:, N_ENROL:]
    subjects = np.arange(N_SUBJECTS)
    held_out = subjects[-N_HELD_OUT:]
    training = subjects[:-N_HELD_OUT]
    return (
        _attempts(rng, training, templates, attempts_windows, within, "train"),
        _attempts(rng, held_out, templates, attempts_windows, within, "eval"),
    )


def _attempts(rng, subjects, templates, windows, within, prefix: str) -> Attempts:
    ids, rows, labels, groups = [], [], [], []
    n_own = windows.shape[1]
    for claimed in subjects:
        others = [s for s in subjects if s != claimed]
        pairs = [(claimed, w, 1) for w in range(n_own)]
        for _ in range(IMPOSTORS_PER_SUBJECT):
            pairs.append((rng.choice(others), int(rng.integers(n_own)), 0))
        for source, window, label in pairs:
            ids.append(f"{prefix}-{len(ids):05d}")
            rows.append(np.abs(windows[source, window] - templates[claimed]) / within)
            labels.append(label)
            groups.append(f"subject-{claimed + 1:02d}")
    return Attempts(ids=ids, distances=np.array(rows), labels=np.array(labels), groups=groups)


# --- The models -------------------------------------------------------------------------
@dataclass
class Challenger:
    name: str
    ticket_hint: str  # words of the demo ticket it belongs to
    params: dict[str, str]
    fit_predict: Callable[[Attempts, Attempts], tuple[np.ndarray, float]]
    notes: str = ""

    @property
    def uuid(self) -> str:
        return uuid.uuid5(_NAMESPACE, self.name).hex


def _dwell_rule(train: Attempts, test: Attempts) -> tuple[np.ndarray, float]:
    # 1 at the owner's mean dwell time, 0.61 at two standard deviations: no training at all.
    score = np.exp(-(test.columns(["dwell_ms"])[:, 0] ** 2) / 8)
    return score, float("nan")


def _sklearn(make_model: Callable[[], object], names: list[str]):
    def fit_predict(train: Attempts, test: Attempts) -> tuple[np.ndarray, float]:
        from sklearn.metrics import roc_auc_score

        model = make_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train.columns(names), train.labels)
            train_auc = float(roc_auc_score(train.labels, model.predict_proba(train.columns(names))[:, 1]))
            return model.predict_proba(test.columns(names))[:, 1], train_auc

    return fit_predict


def _logreg():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _knn():
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=35))


def _gbm():
    # Plain gradient boosting: no OpenMP threads fighting over a small shared machine.
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=120, max_depth=3, learning_rate=0.1, random_state=0)


def _calibrated_gbm():
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(_gbm(), method="isotonic", cv=3)


CHALLENGERS = [
    Challenger(
        "dwell-time-rule",
        "dwell-time rule",
        {"model": "hand-written rule", "features": "dwell_ms", "score": "exp(-z²/8)"},
        _dwell_rule,
        "The rule from the baseline ticket: how far the mean dwell time is from the owner's enrolment.",
    ),
    Challenger(
        "logreg-timings",
        "keystroke timings",
        {"model": "LogisticRegression", "C": "1.0", "features": "5 typing distances"},
        _sklearn(_logreg, TYPING),
        "A linear model on every typing distance, not only dwell time.",
    ),
    Challenger(
        "knn-timings",
        "keystroke timings",
        {"model": "KNeighborsClassifier", "n_neighbors": "35", "features": "5 typing distances"},
        _sklearn(_knn, TYPING),
    ),
    Challenger(
        "gbm-timings",
        "keystroke timings",
        {"model": "GradientBoostingClassifier", "n_estimators": "120", "max_depth": "3", "features": "5 typing"},
        _sklearn(_gbm, TYPING),
        "Boosted trees on the typing distances.",
    ),
    Challenger(
        "gbm-typing-and-motion",
        "motion and typing",
        {
            "model": "GradientBoostingClassifier",
            "n_estimators": "120",
            "max_depth": "3",
            "features": "5 typing + 5 motion",
        },
        _sklearn(_gbm, TYPING + MOTION),
        "Same trees with the motion distances added: does motion add signal?",
    ),
    Challenger(
        "gbm-timings-isotonic",
        "calibrat",
        {"model": "GradientBoostingClassifier + isotonic calibration", "cv": "3", "features": "5 typing"},
        _sklearn(_calibrated_gbm, TYPING),
        "Calibrated scores so the app can choose a threshold; ranking should barely change.",
    ),
]
# The sprint (1-based, in date order) each challenger was tried in, as the plan tells it.
SPRINT_OF = {
    "dwell-time-rule": 1,
    "logreg-timings": 2,
    "knn-timings": 2,
    "gbm-timings": 2,
    "gbm-typing-and-motion": 3,
    "gbm-timings-isotonic": 4,
}


# --- Seeding ----------------------------------------------------------------------------
def _write(path: Path, header: list[str], columns: list) -> Path:
    lines = [",".join(header)]
    lines += [",".join(str(v) for v in row) for row in zip(*columns, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _ticket(project: Project, hint: str) -> Ticket | None:
    ticket = Ticket.objects.filter(project=project, title__icontains=hint).order_by("number").first()
    if ticket is None:
        ticket = (
            Ticket.objects.filter(project=project, work_type=WorkType.ALGORITHM_DEVELOPMENT).order_by("rank").first()
        )
    if ticket is not None:
        ticket.project = project
    return ticket


def _moments(project: Project) -> dict[int, dt.datetime]:
    """A moment inside each started sprint (1-based, in date order), never in the future."""
    now = timezone.now()
    moments = {}
    sprints = Sprint.objects.filter(project=project).exclude(state=SprintState.PLANNED).order_by("start_date", "id")
    for number, sprint in enumerate(sprints, start=1):
        start = sprint.started_at or timezone.make_aware(dt.datetime.combine(sprint.start_date, dt.time(9)))
        end = sprint.closed_at or now
        moments[number] = min(start + (end - start) * 0.6, now - dt.timedelta(minutes=5))
    return moments


def _backdate(evaluation: Evaluation, at: dt.datetime) -> None:
    # The computation is real and happens now; the demo dates it when the plan says it happened.
    Evaluation.objects.filter(pk=evaluation.pk).update(
        created_at=at - dt.timedelta(minutes=20),
        queued_at=at - dt.timedelta(minutes=20),
        started_at=at - dt.timedelta(minutes=19),
        heartbeat_at=at - dt.timedelta(minutes=18),
        finished_at=at - dt.timedelta(minutes=18),
    )


def _evaluate(run: Run, dataset, user) -> Evaluation:
    evaluation, _ = services.evaluation_request(run=run, dataset=dataset, user=user, enqueue=False)
    services.evaluation_execute(evaluation_id=evaluation.pk, worker="seed_demo")
    return Evaluation.objects.select_related("run", "champion_run", "dataset").get(pk=evaluation.pk)


def seed_benchmark(*, project: Project, lead: AbstractBaseUser, engineer: AbstractBaseUser) -> Benchmark:
    """Create the demo benchmark with its dataset, runs, evaluations and promotions, unless it exists."""
    existing = Benchmark.objects.filter(project=project, name=BENCHMARK_NAME).first()
    if existing is not None:
        _attach_later(project, engineer)
        return existing
    folder = Path(tempfile.mkdtemp(prefix="agileml-demo-"))
    try:
        with transaction.atomic():
            return _seed(project, lead, engineer, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _attach_later(project: Project, engineer: AbstractBaseUser) -> None:
    """Runs seeded before the planning demo made its tickets join them once they exist."""
    for challenger in CHALLENGERS:
        run = Run.objects.filter(uuid=challenger.uuid, ticket__isnull=True).select_related("project").first()
        ticket = _ticket(project, challenger.ticket_hint) if run is not None else None
        if ticket is not None:
            run_services.run_attach_ticket(run=run, ticket_key=ticket.key, actor=engineer)


def _seed(project: Project, lead, engineer, folder: Path) -> Benchmark:
    train, held_out = synthetic_attempts()
    benchmark = services.benchmark_create(
        project=project,
        user=lead,
        name=BENCHMARK_NAME,
        task="binary",
        primary_metric="auc",
        threshold=0.5,
        guardrails={"eer": 0.03},
        unit="subject",
        effect_of_interest=0.01,
        description=(
            "The phone stays unlocked for its owner and locks for anyone else: a better model ranks the owner's "
            "typing above strangers' (AUC on the 12 held-out subjects) without a worse equal error rate "
            "(at most 3 points). Synthetic keystroke and motion data."
        ),
    )
    benchmark.project = project
    truth = _write(
        folder / "held_out_subjects.csv", ["id", "label", "group"], [held_out.ids, held_out.labels, held_out.groups]
    )
    dataset = services.dataset_upload(
        benchmark=benchmark,
        user=lead,
        path=truth,
        original_name=truth.name,
        note=f"Frozen split: {N_HELD_OUT} held-out subjects, {N_WINDOWS - N_ENROL} genuine and "
        f"{IMPOSTORS_PER_SUBJECT} impostor attempts each. Synthetic data.",
    )
    moments = _moments(project)
    now = timezone.now()
    runs: dict[str, Run] = {}
    for challenger in CHALLENGERS:
        at = moments.get(SPRINT_OF[challenger.name], now)
        scores, train_auc = challenger.fit_predict(train, held_out)
        run = _run(project, engineer, challenger, at, train_auc)
        runs[challenger.name] = run
        predictions = _write(
            folder / f"{challenger.name}.csv", ["id", "score"], [held_out.ids, [f"{s:.6f}" for s in scores]]
        )
        services.predictions_upload(
            run=run,
            dataset=dataset,
            user=engineer,
            path=predictions,
            original_name="predictions.csv",
            source=PredictionSource.DEMO,
        )
        evaluation = _evaluate(run, dataset, engineer)
        _backdate(evaluation, at)
        if evaluation.gate_allowed:
            note = "Baseline: the hand-written rule." if evaluation.champion_run_id is None else challenger.notes
            services.champion_promote(benchmark=benchmark, evaluation=evaluation, user=lead, note=note, at=at)
    # Every other challenger measured against the final champion, for the forest plot.
    champion_id = Benchmark.objects.values_list("champion_id", flat=True).get(pk=benchmark.pk)
    for run in runs.values():
        if run.pk != champion_id:
            _evaluate(run, dataset, engineer)
    return Benchmark.objects.get(pk=benchmark.pk)


def _run(project: Project, engineer, challenger: Challenger, at: dt.datetime, train_auc: float) -> Run:
    ticket = _ticket(project, challenger.ticket_hint)
    run = run_services.run_create(
        project=project,
        user=engineer,
        name=challenger.name,
        start_time=at - dt.timedelta(hours=3),
        ticket_key=ticket.key if ticket else None,
        params=list(challenger.params.items()),
        tags=[(services.TAG_BENCHMARK, BENCHMARK_NAME), ("data", "synthetic")],
        notes=challenger.notes,
        run_uuid=challenger.uuid,
    )
    if np.isfinite(train_auc):
        point = run_services.MetricPoint(key="train_auc", value=train_auc, timestamp=int(at.timestamp() * 1000))
        run_services.run_log(run=run, metrics=[point])
    run_services.run_update(run=run, status=RunStatus.FINISHED, end_time=at - dt.timedelta(hours=2))
    return run
