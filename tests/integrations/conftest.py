import pytest

from tests.integrations.receiver import Receiver


@pytest.fixture
def receiver():
    """``receiver(answers=[500, 200])`` → a started local receiver, stopped after the test."""
    started = []

    def make(**kwargs) -> Receiver:
        r = Receiver(**kwargs).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()
