"""The embedded message broker: one folder of message files, safe with many processes.

kombu's own filesystem transport creates a message file before it locks and writes it, and
its reader moves and parses the file without the lock, so a reader can meet an empty or
half-written file and the worker dies on the JSON error (kombu issue #1551). This transport
keeps kombu's layout and options but changes the two moves that matter:

- a writer writes the whole message into ``tmp/`` and publishes it with ``os.replace`` into
  the queue's own folder (``queue/<name>/``): a file in a queue folder is always complete;
- a reader claims a file by renaming it into ``claimed/`` (one rename wins, so each message is
  delivered once), and a file that is empty or not a message is moved to ``quarantine/`` and
  logged once; the worker goes on with the next message.

Exchange tables (which queues a fanout reaches, used by worker pings and broadcasts) are
rewritten the same way, under a lock file, so a reader never sees half of one.
``python -m bench broker`` compares this transport with kombu's SQLAlchemy transport on SQLite.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections import deque
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

TRANSPORT_PATH = "agileml.broker:Transport"


def _write_atomically(path: Path, data: bytes, tmp_folder: Path) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees a partial file."""
    tmp = tmp_folder / f"{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class Channel(filesystem.Channel):
    """kombu's filesystem channel with atomic publishing and a reader that cannot be crashed."""

    _listing: dict[str, deque[str]]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._listing = {}
        self._folders: set[str] = set()
        root = Path(self.data_folder_out).parent
        self._tmp = root / "tmp"
        self._claimed = root / "claimed"
        self._quarantine = root / "quarantine"
        for folder in (self._tmp, self._claimed, self._quarantine, Path(self.data_folder_out), self.control_folder):
            folder.mkdir(parents=True, exist_ok=True)

    # --- messages -------------------------------------------------------------------------
    def _queue_folder(self, queue: str) -> Path:
        """Each queue has its own folder, so polling an idle queue never lists a busy one."""
        if not queue or "/" in queue or "\0" in queue or not queue.strip("."):
            raise ChannelError(f"Invalid queue name: {queue!r}")
        folder = Path(self.data_folder_in) / queue
        if queue not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(queue)
        return folder

    def _put(self, queue: str, payload: dict, **kwargs) -> None:
        # Wall-clock nanoseconds, zero-padded: names sort in sending order across processes.
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.msg"
        data = dumps(payload).encode()
        try:
            _write_atomically(self._queue_folder(queue) / name, data, self._tmp)
        except FileNotFoundError:
            # The folders were removed (a purge of the whole broker): make them again, once.
            self._folders.clear()
            self._tmp.mkdir(parents=True, exist_ok=True)
            _write_atomically(self._queue_folder(queue) / name, data, self._tmp)

    def _get(self, queue: str) -> dict:
        folder = self._queue_folder(queue)
        if not folder.is_dir():  # removed by a purge of the whole broker
            self._folders.discard(queue)
            folder = self._queue_folder(queue)
        # A sorted listing is reused until it runs out: listing a folder of 10,000 files for
        # every message would make draining a long queue quadratic.
        pending = self._listing.get(queue)
        if not pending:
            pending = deque(sorted(os.listdir(folder)))
            self._listing[queue] = pending
        while pending:
            name = pending.popleft()
            claimed = self._claimed / f"{os.getpid()}-{name}"
            try:
                os.rename(folder / name, claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            payload = self._read(claimed, f"{queue}/{name}")
            if payload is not None:
                return payload
        raise Empty()

    def _read(self, claimed: Path, name: str) -> dict | None:
        data = b""
        try:
            data = claimed.read_bytes()
            payload = loads(data.decode())
            if not isinstance(payload, dict):
                raise ValueError("not a message")
        except (ValueError, UnicodeDecodeError) as exc:
            # Logged once, when the file is moved aside; the worker goes on with the next message.
            reason = exc.__class__.__name__ if data else "empty file"
            os.replace(claimed, self._quarantine / name.replace("/", "_"))
            logger.warning("Embedded broker: %s is not a message (%s); moved to %s", name, reason, self._quarantine)
            return None
        claimed.unlink()
        return payload

    def _purge(self, queue: str) -> int:
        self._listing.pop(queue, None)
        count = 0
        folder = self._queue_folder(queue)
        for name in os.listdir(folder):
            try:
                os.unlink(folder / name)
                count += 1
            except FileNotFoundError:
                pass  # taken by a consumer meanwhile
        return count

    def _size(self, queue: str) -> int:
        return len(os.listdir(self._queue_folder(queue)))

    # --- exchange tables ------------------------------------------------------------------
    def get_table(self, exchange: str) -> list:
        file = self._exchange_file(exchange)
        try:
            table = json.loads(file.read_bytes())
            return [filesystem.exchange_queue_t(*row) for row in table]
        except FileNotFoundError:
            return []
        except (ValueError, TypeError) as exc:
            logger.warning("Embedded broker: exchange table %s is unreadable (%s); treated as empty", file, exc)
            return []

    def _update_table(self, exchange: str, change) -> None:
        """Read-modify-write one exchange table under its lock; readers see the old or the new one."""
        file = self._exchange_file(exchange)
        with open(self.control_folder / f".{exchange}.lock", "ab") as lock_file:
            filesystem.lock(lock_file, filesystem.LOCK_EX)
            try:
                rows = self.get_table(exchange)
                new_rows = change(list(rows))
                if new_rows != rows:
                    _write_atomically(file, dumps(new_rows).encode(), self._tmp)
            finally:
                filesystem.unlock(lock_file)

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda rows: rows if row in rows else [row, *rows])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda rows: [r for r in rows if r != row])


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = virtual.BrokerState()
    driver_type = "filesystem"
    driver_name = "agileml-filesystem"


def transport_options(folder: Path, *, polling_interval: float = 0.1) -> dict:
    """The Celery transport options for an embedded broker in ``folder``."""
    for sub in ("queue", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        "polling_interval": polling_interval,
    }
