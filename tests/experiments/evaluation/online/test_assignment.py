"""Hash assignment: the documented test vectors, stickiness, split accuracy, independence across tests."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from experiments.evaluation.online import Assigner, assign, assignment_point, boundaries

SALT = "checkout-42"
EVEN = [("champion", 1), ("challenger", 1)]
NINETY_TEN = [("champion", 90), ("challenger", 10)]

# unit → (first 8 digest bytes as printed by `printf 'checkout-42:<unit>' | sha256sum`, u, 50/50, 90/10)
VECTORS = {
    "user-1": ("655064de7c613e85", 0.39575796539100316, "champion", "champion"),
    "user-7": ("a45af14aeff73243", 0.6420126731827309, "challenger", "champion"),
    "user-9": ("e870f58d39451a89", 0.9079736203941774, "challenger", "challenger"),
    "42": ("d2a9c231112b9d2e", 0.8229028100769668, "challenger", "champion"),
}


@pytest.mark.parametrize("unit", list(VECTORS))
def test_it_matches_the_documented_test_vectors(unit):
    prefix, u, even, ninety_ten = VECTORS[unit]
    assert hashlib.sha256(f"{SALT}:{unit}".encode()).hexdigest()[:16] == prefix
    # The documented arithmetic, done here by hand: top 53 of the first 64 bits, over 2**53.
    assert (int(prefix, 16) >> 11) / 2**53 == u
    assert assignment_point(SALT, unit) == u
    assert assign(SALT, unit, EVEN) == even
    assert assign(SALT, unit, NINETY_TEN) == ninety_ten
    assert Assigner(SALT, NINETY_TEN).assign(unit) == ninety_ten


def test_an_integer_unit_is_the_string_of_its_digits():
    assert assignment_point(SALT, 42) == assignment_point(SALT, "42")


def test_non_ascii_units_hash_their_utf8_bytes():
    expected = hashlib.sha256("checkout-42:ünïcode-7".encode()).digest()
    assert assignment_point(SALT, "ünïcode-7") == (int.from_bytes(expected[:8], "big") >> 11) / 2**53


def test_it_is_sticky():
    units = [f"user-{i}" for i in range(2000)]
    first = [assign(SALT, unit, EVEN) for unit in units]
    again = [assign(SALT, unit, tuple(EVEN)) for unit in reversed(units)]
    assert first == list(reversed(again))


@pytest.mark.parametrize("arms", [EVEN, [("a", 0.2), ("b", 0.3), ("c", 0.5)]])
def test_the_split_over_100k_units_matches_the_weights(arms):
    assigner = Assigner("split-test", arms)
    counts = Counter(assigner.assign(f"u{i}") for i in range(100_000))
    total = sum(w for _, w in arms)
    for variant, weight in arms:
        # The standard error of a share is at most √(0.25 / 100,000) = 0.16%; allow 3 of them.
        assert counts[variant] / 100_000 == pytest.approx(weight / total, abs=0.005)


def test_the_assigner_agrees_with_assign():
    assigner = Assigner(SALT, [("a", 1), ("b", 1), ("c", 2)])
    units = [f"user-{i}" for i in range(500)]
    assert [assigner.assign(u) for u in units] == [assign(SALT, u, [("a", 1), ("b", 1), ("c", 2)]) for u in units]
    assert assigner.point("user-1") == assignment_point(SALT, "user-1")


def test_different_salts_assign_independently():
    a, b = Assigner("test-a", EVEN), Assigner("test-b", EVEN)
    units = [f"u{i}" for i in range(20_000)]
    same = sum(a.assign(u) == b.assign(u) for u in units)
    assert same / len(units) == pytest.approx(0.5, abs=0.02)


def test_boundaries_accumulate_the_weights_in_order():
    assert boundaries([("a", 1), ("b", 2), ("c", 1)]) == [0.25, 0.75, 1.0]
    assert boundaries([("a", 0.1), ("b", 0.2), ("c", 0.7)])[-1] == 1.0


def test_a_unit_below_the_first_boundary_goes_to_the_first_arm_whatever_the_order():
    assert assign(SALT, "user-1", [("x", 1), ("y", 1)]) == "x"
    assert assign(SALT, "user-1", [("y", 1), ("x", 1)]) == "y"


@pytest.mark.parametrize(
    ("salt", "message"),
    [("", "non-empty"), ("a:b", 'may not contain ":"'), (None, "non-empty")],
)
def test_a_bad_salt_is_refused(salt, message):
    with pytest.raises(ValueError, match=message):
        assign(salt, "u", EVEN)


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ([("a", 1)], "at least two arms"),
        ([("a", 1), ("a", 1)], "listed twice"),
        ([("a", 1), ("b", 0)], "weight of 'b' must be a finite number > 0"),
        ([("a", 1), ("b", -1)], "weight of 'b'"),
        ([("a", 1), ("b", float("nan"))], "weight of 'b'"),
        ([("a", 1), ("b", "x")], "must be a number"),
        ([("a", 1), ("", 1)], "non-empty variant"),
        ([("a", 1), "b"], "item 2"),
    ],
)
def test_bad_arms_are_refused_with_the_arm_named(arms, message):
    with pytest.raises(ValueError, match=message):
        assign(SALT, "u", arms)


def test_a_unit_must_be_a_string_or_an_integer():
    with pytest.raises(TypeError, match="unit"):
        assign(SALT, 4.2, EVEN)
