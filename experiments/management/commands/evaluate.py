"""``python manage.py evaluate``: the engine the workers run, offline, on local files (CSV, gzip- or
zstd-compressed CSV, or Parquet, told by content)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from experiments.evaluation import (
    DEFAULT_PRIMARY,
    METRICS,
    EvaluationInputError,
    evaluate,
    read_predictions,
    read_truth,
    stored,
)
from experiments.evaluation.checking import check_truth
from experiments.evaluation.reading import TASKS
from experiments.evaluation.sharding import SHARDED_TASKS, evaluate_stored

EXIT_BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Evaluate a predictions file against a ground-truth file (id,label[,group]); with --champion, compare the "
        "two and give a verdict. Files may be CSV, gzip- or zstd-compressed CSV (.csv.gz, .csv.zst) or Parquet. "
        "Groups are read from the truth file's 'group' column when it has one. Bad input exits with status 2 and "
        "a one-line message naming the file, the line (CSV) or row (Parquet), and the column."
    )
    # Pure computation on files: no database, so no system checks either.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--task", required=True, choices=TASKS)
        parser.add_argument("--truth", required=True, type=Path, help="ground truth: id,label[,group]")
        parser.add_argument(
            "--predictions",
            required=True,
            type=Path,
            help="challenger: id,score (binary), id,label[,p_<class>...] (multiclass), id,prediction (regression)",
        )
        parser.add_argument("--champion", type=Path, help="champion predictions, same layout: adds a comparison")
        parser.add_argument(
            "--primary",
            help="metric for the verdict (default: "
            + ", ".join(f"{task} {metric}" for task, metric in DEFAULT_PRIMARY.items())
            + ")",
        )
        parser.add_argument("--threshold", type=float, default=0.5, help="binary decision threshold (score ≥ it)")
        parser.add_argument("--seed", type=int, default=0, help="bootstrap seed: same seed, same report")
        parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
        parser.add_argument("--output", type=Path, help="also write the JSON report to this file")
        parser.add_argument("--progress", action="store_true", help="show progress on stderr")
        parser.add_argument(
            "--memory-mb",
            type=int,
            help="evaluate within this much memory for the rows (files larger than memory): the files are "
            "checked and prepared in a temporary folder, then read a row range at a time; the same report",
        )
        parser.add_argument(
            "--workers", type=int, default=0, help="with --memory-mb: run the shards in this many processes"
        )

    def handle(self, *args, **options) -> None:
        task = options["task"]
        primary = options["primary"]
        if primary is not None and primary not in METRICS[task]:
            raise CommandError(
                f"--primary: {primary!r} is not a {task} metric; choose one of {', '.join(METRICS[task])}",
                returncode=EXIT_BAD_INPUT,
            )
        if options["resamples"] < 1:
            raise CommandError("--resamples: must be at least 1", returncode=EXIT_BAD_INPUT)
        if options["memory_mb"] is not None and options["memory_mb"] < 50:
            raise CommandError("--memory-mb: must be at least 50", returncode=EXIT_BAD_INPUT)
        if options["workers"] < 0:
            raise CommandError("--workers: must be 0 or more", returncode=EXIT_BAD_INPUT)
        progress = self._progress if options["progress"] else None
        if options["memory_mb"]:
            report = self._bounded(task, primary, options, progress)
        else:
            report = self._whole(task, primary, options, progress)
        text = json.dumps(report, allow_nan=False)
        if options["output"]:
            try:
                options["output"].write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"--output: cannot write {options['output']} ({exc.strerror})") from None
        if options["json"]:
            self.stdout.write(text)
        else:
            self.stdout.write(render_text(report))

    def _whole(self, task: str, primary: str | None, options: dict, progress) -> dict:
        try:
            # Messages name the files as typed on the command line.
            truth = read_truth(options["truth"], task=task, name=str(options["truth"]))
            challenger = read_predictions(options["predictions"], truth=truth, name=str(options["predictions"]))
            champion = None
            if options["champion"]:
                champion = read_predictions(options["champion"], truth=truth, name=str(options["champion"]))
            return evaluate(
                task=task,
                truth=truth,
                predictions=challenger,
                champion=champion,
                primary=primary,
                threshold=options["threshold"],
                seed=options["seed"],
                n_resamples=options["resamples"],
                progress=progress,
            )
        except EvaluationInputError as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None

    def _bounded(self, task: str, primary: str | None, options: dict, progress) -> dict:
        """The bounded-memory path (``stored``, ``sharding.evaluate_stored``): the same report and messages."""
        if task not in SHARDED_TASKS:
            raise CommandError(f"--memory-mb: {task} evaluations are read whole", returncode=EXIT_BAD_INPUT)
        with tempfile.TemporaryDirectory(prefix="agileml-evaluate-") as scratch:
            folder = Path(scratch)
            try:
                columns = folder / "truth.columns.parquet"
                check_truth(options["truth"], task=task, columns=columns, name=str(options["truth"]))
                truth = stored.prepare_truth(columns, task=task, name=str(options["truth"]), folder=folder / "truth")
                models = {}
                for who, key in (("challenger", "predictions"), ("champion", "champion")):
                    if options[key]:
                        path = options[key]
                        models[who] = stored.align_predictions(path, truth=truth, folder=folder / who, name=str(path))
                return evaluate_stored(
                    truth=truth,
                    predictions=models["challenger"],
                    champion=models.get("champion"),
                    primary=primary,
                    threshold=options["threshold"],
                    seed=options["seed"],
                    n_resamples=options["resamples"],
                    memory_mb=options["memory_mb"],
                    workers=options["workers"],
                    directory=str(folder / "placements"),
                    progress=progress,
                )
            except EvaluationInputError as exc:
                raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None

    def _progress(self, stage: str, fraction: float) -> None:
        sys.stderr.write(f"\r{stage:<11} {fraction:6.1%}")
        if fraction >= 1:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def render_text(report: dict) -> str:
    """A table for people; ``--json`` is for programs."""
    groups = f", {report['n_groups']:,} groups" if report["n_groups"] else ""
    lines = [f"{report['task']} evaluation on {report['n_rows']:,} rows{groups}"]
    for who, cover in report["coverage"].items():
        if cover["missing"]:
            lines.append(f"  {who}: {cover['missing']:,} rows without a prediction count as wrong")
    comparisons = report.get("comparisons", {})
    header = f"  {'metric':<18} {'challenger':>10} {'95% CI':>19}"
    if comparisons:
        header += f" {'champion':>10} {'delta':>9} {'95% CI':>21} {'p':>8}  verdict"
    lines.append(header)
    for metric, value in report["metrics"].items():
        row = f"  {metric:<18} {_fmt(value['value']):>10} [{_fmt(value['ci_low'])}, {_fmt(value['ci_high'])}]"
        compared = comparisons.get(metric)
        if compared:
            p = "—" if compared["p_value"] is None else f"{compared['p_value']:.3g}"
            delta = "—" if compared["delta"] is None else f"{compared['delta']:+.4f}"
            low = "—" if compared["ci_low"] is None else f"{compared['ci_low']:+.4f}"
            high = "—" if compared["ci_high"] is None else f"{compared['ci_high']:+.4f}"
            row += f" {_fmt(compared['champion']):>10} {delta:>9} [{low}, {high}] {p:>8}  {compared['verdict']}"
        lines.append(row)
    if "comparison" in report:
        main = report["comparison"]
        line = f"verdict on {main['primary']} ({main['method']}): {main['verdict']}"
        if main.get("reason"):
            line += f" ({main['reason']})"
        lines.append(line)
    for metric, value in report["metrics"].items():
        if value.get("reason"):
            lines.append(f"  {metric}: {value['reason']}")
    return "\n".join(lines)
