import pytest

from experiments.tracking.search_syntax import (
    Clause,
    OrderKey,
    SearchSyntaxError,
    like_to_regex,
    parse_filter,
    parse_order_by,
)


def test_clauses_joined_by_and():
    assert parse_filter("metrics.auc >= 0.9 and params.model = 'svm' AND tags.`data set` != \"v2\"") == [
        Clause("metrics", "auc", ">=", 0.9),
        Clause("params", "model", "=", "svm"),
        Clause("tags", "data set", "!=", "v2"),
    ]


def test_attributes_with_and_without_prefix():
    assert parse_filter("attributes.status = 'FINISHED' and run_name LIKE 'sgd%'") == [
        Clause("attributes", "status", "=", "FINISHED"),
        Clause("attributes", "run_name", "LIKE", "sgd%"),
    ]
    assert parse_filter("attr.run_id IN ('a', 'b')") == [Clause("attributes", "run_id", "IN", ("a", "b"))]
    assert parse_filter("status NOT IN ('FAILED')") == [Clause("attributes", "status", "NOT IN", ("FAILED",))]


def test_empty_filter():
    assert parse_filter("") == [] and parse_filter(None) == [] and parse_filter("   ") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.auc", "ends after"),
        ("metrics.auc > 'high'", "is a number"),
        ("params.lr > 1", "is text"),
        ("params.lr = 1", "Quote the value"),
        ("attributes.colour = 'red'", "Unknown attribute"),
        ("metrics.a > 1 OR metrics.b > 1", "Join conditions with AND"),
        ("metrics.a > 1 AND", "ends with AND"),
        ("params.x IN ('a')", "IN works on attributes"),
        ("metrics.a > 1 $", "Cannot read"),
    ],
)
def test_errors_say_what_is_wrong(text, message):
    with pytest.raises(SearchSyntaxError, match=message):
        parse_filter(text)


def test_order_by():
    assert parse_order_by(["metrics.auc DESC", "start_time", "params.`learning rate` asc"]) == [
        OrderKey("metrics", "auc", False),
        OrderKey("attributes", "start_time", True),
        OrderKey("params", "learning rate", True),
    ]
    with pytest.raises(SearchSyntaxError):
        parse_order_by(["metrics.auc sideways"])


def test_like_patterns():
    import re

    assert re.match(like_to_regex("sgd_%"), "sgd-lr0.1")
    assert not re.match(like_to_regex("sgd_%"), "sgd")
    assert re.match(like_to_regex("a.b"), "a.b") and not re.match(like_to_regex("a.b"), "axb")
