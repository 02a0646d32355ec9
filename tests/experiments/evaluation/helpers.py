"""CSV writers and the catalogue of bad inputs shared by the reader tests and the command tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def csv_bytes(header: list[str], rows) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def write_binary(folder: Path, y, models: dict[str, np.ndarray], groups=None, present=None) -> dict[str, Path]:
    """truth.csv plus <model>.csv per model (scores written exactly, with repr)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"r{i}" for i in range(len(y))]
    header = ["id", "label"] + (["group"] if groups is not None else [])
    rows = [
        [i, int(label)] + ([f"g{groups[k]}"] if groups is not None else [])
        for k, (i, label) in enumerate(zip(ids, y, strict=True))
    ]
    paths = {"truth": folder / "truth.csv"}
    paths["truth"].write_bytes(csv_bytes(header, rows))
    for name, scores in models.items():
        keep = np.ones(len(y), dtype=bool) if present is None or name not in present else present[name]
        paths[name] = folder / f"{name}.csv"
        paths[name].write_bytes(
            csv_bytes(["id", "score"], [[ids[k], repr(float(scores[k]))] for k in range(len(y)) if keep[k]])
        )
    return paths


def write_multiclass(folder: Path, y, models: dict[str, tuple], groups=None) -> dict[str, Path]:
    """``models``: name → (labels, proba or None) with proba columns in sorted class order."""
    folder.mkdir(parents=True, exist_ok=True)
    classes = sorted({str(v) for v in y})
    ids = [f"r{i}" for i in range(len(y))]
    header = ["id", "label"] + (["group"] if groups is not None else [])
    rows = [[ids[k], y[k]] + ([f"g{groups[k]}"] if groups is not None else []) for k in range(len(y))]
    paths = {"truth": folder / "truth.csv"}
    paths["truth"].write_bytes(csv_bytes(header, rows))
    for name, (labels, proba) in models.items():
        header = ["id", "label"] + ([f"p_{c}" for c in classes] if proba is not None else [])
        rows = [
            [ids[k], labels[k]] + ([repr(float(p)) for p in proba[k]] if proba is not None else [])
            for k in range(len(y))
        ]
        paths[name] = folder / f"{name}.csv"
        paths[name].write_bytes(csv_bytes(header, rows))
    return paths


def write_regression(folder: Path, y, models: dict[str, np.ndarray], groups=None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"r{i}" for i in range(len(y))]
    header = ["id", "label"] + (["group"] if groups is not None else [])
    rows = [[ids[k], repr(float(y[k]))] + ([f"g{groups[k]}"] if groups is not None else []) for k in range(len(y))]
    paths = {"truth": folder / "truth.csv"}
    paths["truth"].write_bytes(csv_bytes(header, rows))
    for name, values in models.items():
        paths[name] = folder / f"{name}.csv"
        paths[name].write_bytes(
            csv_bytes(["id", "prediction"], [[ids[k], repr(float(values[k]))] for k in range(len(y))])
        )
    return paths


# --- bad inputs ---------------------------------------------------------------------------------------------
BINARY_TRUTH = b"id,label,group\na,0,g1\nb,1,g1\nc,0,g2\nd,1,g2\n"
BINARY_PREDICTIONS = b"id,score\na,0.1\nb,0.9\nc,0.4\nd,0.35\n"
MULTI_TRUTH = b"id,label\na,cat\nb,dog\nc,cat\nd,bird\n"
MULTI_PREDICTIONS = b"id,label\na,cat\nb,dog\nc,dog\nd,bird\n"
REG_TRUTH = b"id,label\na,1.5\nb,2\nc,3.25\nd,-1\n"
REG_PREDICTIONS = b"id,prediction\na,1\nb,2\nc,3\nd,0\n"


@dataclass(frozen=True)
class BadInput:
    """One bad input: the files, and the file/line/column/message the user must see."""

    name: str
    task: str
    truth: bytes | None
    predictions: bytes
    fault: str  # "truth", "predictions" or "champion"
    line: int | None
    column: str | None
    text: str
    champion: bytes | None = None

    def write(self, folder: Path) -> dict[str, Path]:
        paths = {"truth": folder / "truth.csv", "predictions": folder / "predictions.csv"}
        if self.truth is not None:
            paths["truth"].write_bytes(self.truth)
        paths["predictions"].write_bytes(self.predictions)
        if self.champion is not None:
            paths["champion"] = folder / "champion.csv"
            paths["champion"].write_bytes(self.champion)
        return paths


def _t(name, truth, line, column, text, task="binary", predictions=None):
    default = {"binary": BINARY_PREDICTIONS, "multiclass": MULTI_PREDICTIONS, "regression": REG_PREDICTIONS}[task]
    return BadInput(name, task, truth, predictions or default, "truth", line, column, text)


def _p(name, predictions, line, column, text, task="binary", truth=None):
    default = {"binary": BINARY_TRUTH, "multiclass": MULTI_TRUTH, "regression": REG_TRUTH}[task]
    return BadInput(name, task, truth or default, predictions, "predictions", line, column, text)


BAD_INPUTS = [
    # files that are not CSV text at all
    _t("truth missing", None, None, None, "file not found"),
    _t("truth empty", b"", 1, None, "the file is empty"),
    _t("truth only blank lines", b"\n\r\n  \n", 1, None, "the file is empty"),
    _t("truth header only", b"id,label\n", 2, None, "no data rows"),
    _t("truth header without newline", b"id,label", 2, None, "no data rows"),
    _t("truth UTF-16", "id,label\na,0\nb,1\n".encode("utf-16"), 1, None, "UTF-16"),
    _t("truth bad UTF-8 in a row", b"id,label\na,0\nb\xff,1\n", 3, "id", "invalid UTF-8 byte 0xff"),
    _t("truth bad UTF-8 in the header", b"id,lab\xe9l\na,0\n", 1, "#2", "invalid UTF-8 byte 0xe9"),
    # header
    _t("truth missing column", b"id,lbl\na,0\nb,1\n", 1, "label", 'missing column "label"'),
    _t("truth unexpected column", b"id,label,weight\na,0,1\nb,1,1\n", 1, "weight", 'unexpected column "weight"'),
    _t("truth repeated column", b"id,label,label\na,0,0\nb,1,1\n", 1, "label", "appears twice"),
    _t("truth empty column name", b"id,,label\na,x,0\nb,y,1\n", 1, "#2", "empty column name"),
    # structure
    _t("truth row with too many values", b"id,label\na,0\nb,1,9\n", 3, "#3", "expected 2 values"),
    _t("truth row with too few values", b"id,label\na,0\nb\n", 3, "label", "expected 2 values"),
    _t("line numbers count blank lines", b"id,label\na,0\n\nb,1\n\nc,7\n", 6, "label", '"7" is not a binary label'),
    _t(
        "line numbers count CRLF lines and a BOM",
        b"\xef\xbb\xbfid,label\r\na,0\r\nb,x\r\n",
        3,
        "label",
        '"x" is not a binary label',
    ),
    _t(
        "line numbers count quoted line breaks",
        b'id,label\n"a\nb",0\nc,1\nd,2\n',
        5,
        "label",
        '"2" is not a binary label',
    ),
    # values
    _t("truth binary label not 0/1", b"id,label\na,0\nb,yes\n", 3, "label", '"yes" is not a binary label'),
    _t("truth single class", b"id,label\na,1\nb,1\n", None, "label", "every row has label 1"),
    _t("truth duplicate id", b"id,label\na,0\nb,1\na,1\n", 4, "id", 'duplicate id "a" (first on line 2)'),
    _t("truth empty id", b"id,label\na,0\n ,1\n", 3, "id", "empty value"),
    _t("truth empty group", b"id,label,group\na,0,g\nb,1,\n", 3, "group", "empty value"),
    _t(
        "multiclass single class", b"id,label\na,cat\nb,cat\n", None, "label", "at least two classes", task="multiclass"
    ),
    _t(
        "regression label not a number",
        b"id,label\na,1\nb,one\n",
        3,
        "label",
        '"one" is not a number',
        task="regression",
    ),
    _t("regression label infinite", b"id,label\na,1\nb,inf\n", 3, "label", "not a finite number", task="regression"),
    _t(
        "regression constant label",
        b"id,label\na,2\nb,2\nc,2\nd,2\n",
        None,
        "label",
        "the same value",
        task="regression",
    ),
    # predictions
    _p("predictions missing column", b"id,prob\na,0.1\n", 1, "score", 'missing column "score"'),
    _p("predictions unexpected column", b"id,score,model\na,0.1,x\n", 1, "model", 'unexpected column "model"'),
    _p("score not a number", b"id,score\na,0.1\nb,high\n", 3, "score", '"high" is not a number'),
    _p("score empty", b"id,score\na,0.1\nb,\n", 3, "score", "empty value"),
    _p("score NaN", b"id,score\na,0.1\nb,NaN\n", 3, "score", "not a finite number"),
    _p("score infinite", b"id,score\na,0.1\nb,0.3\nc,-inf\n", 4, "score", "not a finite number"),
    _p("prediction for an unknown id", b"id,score\na,0.1\nzz,0.3\n", 3, "id", 'id "zz" is not in the truth file'),
    _p("prediction repeated", b"id,score\na,0.1\nb,0.2\na,0.3\n", 4, "id", 'duplicate id "a" (first on line 2)'),
    _p("prediction file without rows", b"id,score\n", 2, None, "no data rows"),
    _p(
        "multiclass label outside the classes",
        b"id,label\na,cat\nb,cow\n",
        3,
        "label",
        '"cow" is not a class in truth.csv',
        task="multiclass",
    ),
    _p(
        "multiclass probability column for an unknown class",
        b"id,label,p_cat,p_cow\na,cat,1,0\n",
        1,
        "p_cow",
        "names a class that is not in truth.csv",
        task="multiclass",
    ),
    _p(
        "multiclass probability columns incomplete",
        b"id,label,p_cat,p_dog\na,cat,0.5,0.5\n",
        1,
        "p_bird",
        "missing p_bird",
        task="multiclass",
    ),
    _p(
        "multiclass probability outside [0, 1]",
        b"id,label,p_bird,p_cat,p_dog\na,cat,0,1,0\nb,dog,-0.1,0.1,1\n",
        3,
        "p_bird",
        "is not a probability",
        task="multiclass",
    ),
    _p(
        "multiclass probabilities not adding up to 1",
        b"id,label,p_bird,p_cat,p_dog\na,cat,0,1,0\nb,dog,0.2,0.2,0.2\n",
        3,
        "p_bird",
        "add up to 0.6",
        task="multiclass",
    ),
    _p(
        "regression row without prediction",
        b"id,prediction\na,1\nb,2\nd,0\n",
        None,
        "id",
        'no prediction for id "c" (line 4 of truth.csv)',
        task="regression",
    ),
    _p(
        "regression prediction NaN",
        b"id,prediction\na,1\nb,nan\nc,1\nd,1\n",
        3,
        "prediction",
        "not a finite number",
        task="regression",
    ),
    BadInput(
        "champion with a bad score",
        "binary",
        BINARY_TRUTH,
        BINARY_PREDICTIONS,
        "champion",
        5,
        "score",
        '"?" is not a number',
        champion=b"id,score\na,0.1\nb,0.9\nc,0.4\nd,?\n",
    ),
]
