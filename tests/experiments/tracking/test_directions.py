import pytest

from experiments.tracking.directions import higher_is_better


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("val_loss", False),
        ("train/loss", False),
        ("rmse", False),
        ("mean_absolute_error", False),
        ("accuracy", True),
        ("val_acc", True),
        ("roc_auc", True),
        ("f1_score", True),
        ("r2", True),
        ("epoch", None),
        ("lr", None),
        ("", None),
    ],
)
def test_the_direction_is_read_from_the_metric_name(name, expected):
    assert higher_is_better(name) is expected
