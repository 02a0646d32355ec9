"""``python manage.py evaluate``: the JSON contract, and a one-line message with exit status 2 for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command, execute_from_command_line

from experiments.evaluation import evaluate
from experiments.evaluation.columnar import write_table
from tests.experiments.evaluation.helpers import BAD_INPUTS, BadInput, write_binary, write_multiclass
from tests.experiments.evaluation.test_sharding import assert_same

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {"task", "n_rows", "n_groups", "metrics", "comparison"}
COMPARISON = {
    "primary",
    "challenger",
    "champion",
    "delta",
    "ci_low",
    "ci_high",
    "p_value",
    "method",
    "verdict",
    "reason",
}


@pytest.fixture
def binary_files(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.5).astype(int)
    good = 1 / (1 + np.exp(-(3 * (y - 0.5) + rng.normal(size=n))))
    poor = 1 / (1 + np.exp(-(0.5 * (y - 0.5) + rng.normal(size=n))))
    return write_binary(tmp_path, y, {"good": good, "poor": poor}, groups=rng.integers(0, 40, n))


def _run(*args: str, capsys) -> tuple[int, str, str]:
    """The command exactly as ``manage.py`` runs it (argument parsing, exit status, stderr), in this process."""
    code = 0
    try:
        execute_from_command_line(["manage.py", "evaluate", *args])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_report_with_a_champion(binary_files, capsys):
    code, out, err = _run(
        "--task",
        "binary",
        "--truth",
        str(binary_files["truth"]),
        "--predictions",
        str(binary_files["good"]),
        "--champion",
        str(binary_files["poor"]),
        "--seed",
        "3",
        "--json",
        capsys=capsys,
    )
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= CONTRACT
    assert set(report["comparison"]) == COMPARISON
    assert report["n_rows"] == 400
    assert report["n_groups"] == 40  # read from the truth file's group column
    assert report["comparison"]["verdict"] == "better"
    # The same engine, same seed: the command adds nothing of its own.
    direct = evaluate(
        task="binary",
        truth=binary_files["truth"],
        predictions=binary_files["good"],
        champion=binary_files["poor"],
        seed=3,
    )
    assert report["metrics"] == direct["metrics"]
    assert report["comparisons"] == direct["comparisons"]


def test_no_champion_no_comparison(binary_files):
    out = _call("--task", "binary", "--truth", binary_files["truth"], "--predictions", binary_files["good"], "--json")
    report = json.loads(out)
    assert "comparison" not in report
    assert set(report["metrics"]["auc"]) == {"value", "ci_low", "ci_high"}


def _call(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("evaluate", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_output_file_holds_the_same_json(binary_files, tmp_path):
    target = tmp_path / "report.json"
    out = _call(
        "--task",
        "binary",
        "--truth",
        binary_files["truth"],
        "--predictions",
        binary_files["good"],
        "--champion",
        binary_files["poor"],
        "--json",
        "--output",
        target,
        "--resamples",
        "200",
    )
    assert json.loads(target.read_text()) == json.loads(out)


def test_text_report_for_people(binary_files):
    out = _call(
        "--task",
        "binary",
        "--truth",
        binary_files["truth"],
        "--predictions",
        binary_files["good"],
        "--champion",
        binary_files["poor"],
        "--resamples",
        "200",
    )
    assert out.startswith("binary evaluation on 400 rows, 40 groups")
    assert "verdict on auc (DeLong clustered (Obuchowski 1997) paired test, t on G − 1 df): better" in out
    assert "log_loss" in out


def test_multiclass_and_primary(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.choice(["x", "y", "z"], 300)
    paths = write_multiclass(tmp_path, y, {"a": (y, None), "b": (rng.choice(["x", "y", "z"], 300), None)})
    report = json.loads(
        _call(
            "--task",
            "multiclass",
            "--truth",
            paths["truth"],
            "--predictions",
            paths["a"],
            "--champion",
            paths["b"],
            "--primary",
            "macro_f1",
            "--json",
            "--resamples",
            "200",
        )
    )
    assert report["comparison"]["primary"] == "macro_f1"
    assert report["comparison"]["verdict"] == "better"
    assert report["metrics"]["accuracy"]["value"] == 1.0


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.name)
def test_bad_input_exits_2_with_one_line_naming_file_line_and_column(case: BadInput, tmp_path, capsys):
    paths = case.write(tmp_path)
    args = ["--task", case.task, "--truth", str(paths["truth"]), "--predictions", str(paths["predictions"]), "--json"]
    if "champion" in paths:
        args += ["--champion", str(paths["champion"])]
    code, out, err = _run(*args, capsys=capsys)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    where = f"CommandError: {paths[case.fault]}" + (f", line {case.line}" if case.line else "")
    assert lines[0].startswith(where)
    if case.column:
        assert f"({case.column})" in lines[0] or f"column {case.column}" in lines[0]
    # Through the command, files are named as typed (here: full paths).
    assert case.text.replace("truth.csv", str(paths["truth"])) in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--primary", "rmse"], "--primary: 'rmse' is not a binary metric"),
        (["--resamples", "0"], "--resamples: must be at least 1"),
        (["--memory-mb", "10"], "--memory-mb: must be at least 50"),
        (["--memory-mb", "100", "--workers", "-1"], "--workers: must be 0 or more"),
    ],
)
def test_bad_options_exit_2(binary_files, capsys, args, message):
    code, _, err = _run(
        "--task",
        "binary",
        "--truth",
        str(binary_files["truth"]),
        "--predictions",
        str(binary_files["good"]),
        *args,
        capsys=capsys,
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def _manage(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SECRET_KEY="test-only", DJANGO_SETTINGS_MODULE="agileml.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "evaluate", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_real_process_prints_json(binary_files):
    done = _manage(
        "--task",
        "binary",
        "--truth",
        str(binary_files["truth"]),
        "--predictions",
        str(binary_files["good"]),
        "--champion",
        str(binary_files["poor"]),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["comparison"]) == COMPARISON


@pytest.mark.parametrize(
    "case",
    [c for c in BAD_INPUTS if c.name in {"score not a number", "truth UTF-16", "prediction repeated"}],
    ids=lambda c: c.name,
)
def test_a_real_process_exits_2_without_a_traceback(case: BadInput, tmp_path):
    paths = case.write(tmp_path)
    done = _manage(
        "--task", case.task, "--truth", str(paths["truth"]), "--predictions", str(paths["predictions"]), "--json"
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith(f"CommandError: {paths[case.fault]}, line {case.line}")


def _as(path: Path, kind: str) -> Path:
    """The CSV at ``path`` as Parquet (typed columns) or gzip/zstd-compressed CSV."""
    suffix = {"parquet": ".parquet", "gzip": ".csv.gz", "zstd": ".csv.zst"}[kind]
    return write_table(pcsv.read_csv(path), path.with_name(path.stem + suffix), kind)


def test_parquet_and_compressed_files_give_the_csv_report(binary_files, capsys):
    common = ("--task", "binary", "--seed", "3", "--resamples", "200", "--json")
    files = [binary_files["truth"], binary_files["good"], binary_files["poor"]]
    reports = {}
    for kind, (truth, good, poor) in {
        "csv": files,
        "parquet": [_as(path, "parquet") for path in files],
        "mixed": [_as(files[0], "parquet"), _as(files[1], "gzip"), _as(files[2], "zstd")],
    }.items():
        code, out, err = _run(
            *common, "--truth", str(truth), "--predictions", str(good), "--champion", str(poor), capsys=capsys
        )
        assert code == 0, err
        reports[kind] = json.loads(out)
        reports[kind].pop("settings")  # holds the file names, which differ
    assert reports["parquet"] == reports["csv"] == reports["mixed"]


def test_a_bad_parquet_file_exits_2_naming_file_row_and_column(binary_files, tmp_path, capsys):
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": ["r0", "r1", "r1"], "score": [0.1, 0.2, 0.3]}), bad)
    code, out, err = _run(
        "--task", "binary", "--truth", str(binary_files["truth"]), "--predictions", str(bad), capsys=capsys
    )
    assert code == 2 and out == ""
    assert err.strip() == f'CommandError: {bad}, row 3, column 1 (id): duplicate id "r1" (first on row 2)'


@pytest.mark.parametrize("workers", ["0", "2"])
def test_memory_mb_reads_a_row_range_at_a_time_and_gives_the_same_report(binary_files, capsys, workers):
    args = ["--task", "binary", "--truth", str(binary_files["truth"]), "--predictions", str(binary_files["good"])]
    args += ["--champion", str(binary_files["poor"]), "--seed", "3", "--json"]
    code, whole, err = _run(*args, capsys=capsys)
    assert code == 0, err
    code, bounded, err = _run(*args, "--memory-mb", "50", "--workers", workers, capsys=capsys)
    assert code == 0, err
    assert_same(json.loads(whole), json.loads(bounded))


def test_memory_mb_gives_the_same_one_line_message_for_bad_input(capsys, tmp_path):
    case = next(case for case in BAD_INPUTS if case.fault == "predictions" and case.task == "binary")
    paths = case.write(tmp_path)
    args = ["--task", case.task, "--truth", str(paths["truth"]), "--predictions", str(paths["predictions"]), "--json"]
    code, _, whole = _run(*args, capsys=capsys)
    assert code == 2
    code, out, bounded = _run(*args, "--memory-mb", "50", capsys=capsys)
    assert (code, out) == (2, "")
    assert bounded == whole and len(bounded.strip().splitlines()) == 1
