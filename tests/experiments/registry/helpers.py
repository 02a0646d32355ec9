"""A run whose artifacts hold a scikit-learn model the client can load, logged without log_model:
``save_model`` to a folder, then ``log_artifacts`` into the run's ``model`` folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 0.9], [0.9, 1.1], [0.1, 0.3], [1.2, 0.8]])
Y = np.array([0, 0, 1, 1, 0, 1])


def log_model_run(mlflow, tmp_path: Path, *, name: str = "logreg", ticket: str | None = None, c: float = 1.0) -> str:
    """A finished run of project AUTH with a logistic regression in ``model/``; returns the run id."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c).fit(X, Y)
    folder = tmp_path / f"saved-{name}-{c}"
    mlflow.sklearn.save_model(model, str(folder))
    mlflow.set_experiment("AUTH")
    tags = {"agileml.ticket": ticket} if ticket else {}
    with mlflow.start_run(run_name=name, tags=tags) as active:
        mlflow.log_artifacts(str(folder), artifact_path="model")
    return active.info.run_id
