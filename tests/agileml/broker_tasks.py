"""A task and a producer for the embedded-broker tests, loaded by workers with ``--include``.

``python -m tests.agileml.broker_tasks FOLDER OUT START COUNT`` sends COUNT ``record`` tasks
numbered from START through the embedded broker in FOLDER.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from celery import Celery, shared_task

RECORD = "tests.broker.record"


@shared_task(name=RECORD)
def record(out: str, number: int, check: str) -> None:
    """Leave one file per executed message; a second execution or a mangled message leaves a trace."""
    folder = Path(out)
    if check != f"message-{number}":
        (folder / f"corrupt-{number}-{uuid.uuid4().hex}").touch()
        return
    try:
        fd = os.open(folder / f"done-{number}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        (folder / f"twice-{number}-{uuid.uuid4().hex}").touch()
        return
    os.close(fd)


def producer_app(folder: Path) -> Celery:
    from agileml.broker import TRANSPORT_PATH, transport_options

    url = f"filesystem://{folder}"
    return Celery(
        "broker-test-producer",
        set_as_current=False,
        broker=url,
        broker_read_url=url,
        broker_write_url=url,
        broker_transport=TRANSPORT_PATH,
        broker_transport_options=transport_options(folder),
    )


def produce(folder: Path, out: Path, start: int, count: int) -> None:
    app = producer_app(folder)
    with app.producer_or_acquire() as producer:
        for number in range(start, start + count):
            app.send_task(RECORD, args=[str(out), number, f"message-{number}"], producer=producer)


if __name__ == "__main__":
    folder, out, start, count = sys.argv[1:5]
    produce(Path(folder), Path(out), int(start), int(count))
