"""Embedded brokers: AgileML's atomic filesystem transport against kombu's SQLAlchemy transport on SQLite.

`python -m bench broker`. Both need no server, which is what `make run` asks of its broker. For
each transport (and kombu's plain filesystem transport, the one `make run` used before, for
reference), under ``var/bench/broker/``:

1. throughput: 4 producer processes send PER_PRODUCER messages each while 2 consumer processes
   take them (kombu's ``SimpleQueue``, acknowledging each); wall time, messages per second, and
   messages lost, delivered twice or failed (an exception in a producer or consumer);
2. latency: one message sent to an idle consumer, time until it has it (median of LATENCY_ROUNDS,
   both transports polling every 0.1 s as the app configures);
3. a bad message: an empty message file, or a row whose payload is not JSON, put in the queue
   ahead of a good one; whether the consumer survives and gets the good one.

Figures are printed; README's "Embedded broker" records the decision they support.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import time
import traceback
from pathlib import Path
from queue import Empty

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "broker"
PRODUCERS, CONSUMERS = 4, 2
PER_PRODUCER = int(os.environ.get("BENCH_BROKER_MESSAGES", "1000"))
LATENCY_ROUNDS = 30
POLL = 0.1


def _connection(kind: str, folder: Path):
    from kombu import Connection

    if kind == "sqlalchemy":
        from kombu.transport import sqlalchemy

        # Its transport options all go to create_engine(), so the polling interval is set on a subclass.
        class Transport(sqlalchemy.Transport):
            polling_interval = POLL

        return Connection(f"sqlite:///{folder / 'broker.sqlite3'}", transport=Transport)
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "polling_interval": POLL,
    }
    for sub in ("queue", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    transport = "agileml.broker:Transport" if kind == "atomic" else "filesystem"
    return Connection("filesystem://localhost//", transport=transport, transport_options=options)


def _produce(kind: str, folder: Path, start: int, count: int, errors) -> None:
    try:
        with _connection(kind, folder) as conn:
            queue = conn.SimpleQueue("bench")
            for number in range(start, start + count):
                queue.put({"n": number, "check": f"m{number}"})
            queue.close()
    except Exception:  # noqa: BLE001 - counted and shown, not raised: that is the measurement
        errors.put(traceback.format_exc(limit=2))


def _consume(kind: str, folder: Path, out: Path, errors, deadline: float) -> None:
    got = []
    try:
        with _connection(kind, folder) as conn:
            queue = conn.SimpleQueue("bench")
            while time.monotonic() < deadline:
                try:
                    message = queue.get(timeout=0.5)
                except Empty:
                    if (out.parent / "all-sent").exists():
                        break
                    continue
                body = message.payload
                got.append(body["n"] if body.get("check") == f"m{body.get('n')}" else -1)
                message.ack()
    except Exception:  # noqa: BLE001
        errors.put(traceback.format_exc(limit=2))
    out.write_text(json.dumps(got))


def _throughput(kind: str, folder: Path) -> dict:
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    total = PRODUCERS * PER_PRODUCER
    outs = [folder / f"consumer-{i}.json" for i in range(CONSUMERS)]
    deadline = time.monotonic() + 600
    started = time.perf_counter()
    consumers = [ctx.Process(target=_consume, args=(kind, folder, out, errors, deadline)) for out in outs]
    producers = [
        ctx.Process(target=_produce, args=(kind, folder, i * PER_PRODUCER, PER_PRODUCER, errors))
        for i in range(PRODUCERS)
    ]
    for process in consumers + producers:
        process.start()
    for process in producers:
        process.join()
    (folder / "all-sent").touch()
    for process in consumers:
        process.join(timeout=max(1.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
    elapsed = time.perf_counter() - started
    received = [n for out in outs if out.exists() for n in json.loads(out.read_text())]
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    distinct = set(received)
    return {
        "seconds": elapsed,
        "per_second": len(received) / elapsed,
        "lost": total - len(distinct - {-1}),
        "twice": len(received) - len(distinct),
        "corrupt": received.count(-1),
        "failures": failures,
    }


def _latency(kind: str, folder: Path) -> float:
    times = []
    with _connection(kind, folder) as consumer_conn, _connection(kind, folder) as producer_conn:
        inbox = consumer_conn.SimpleQueue("latency")
        outbox = producer_conn.SimpleQueue("latency")
        for _ in range(LATENCY_ROUNDS):
            started = time.perf_counter()
            outbox.put({"t": started})
            inbox.get(timeout=10).ack()
            times.append(time.perf_counter() - started)
            time.sleep(0.05)  # let the consumer go idle again, as between jobs
    return statistics.median(times)


def _bad_message(kind: str, folder: Path) -> str:
    with _connection(kind, folder) as conn:
        queue = conn.SimpleQueue("bad")
        if kind == "sqlalchemy":
            import sqlite3

            queue.put({"warm": 1})
            queue.get(timeout=5).ack()
            with sqlite3.connect(folder / "broker.sqlite3") as db:
                queue_id = db.execute("SELECT id FROM kombu_queue WHERE name = 'bad'").fetchone()[0]
                db.execute(
                    "INSERT INTO kombu_message (queue_id, visible, timestamp, payload, version) VALUES (?, 1, ?, ?, 1)",
                    (queue_id, "2000-01-01 00:00:00", "{not json"),
                )
        else:
            queue_folder = folder / "queue" / "bad" if kind == "atomic" else folder / "queue"
            queue_folder.mkdir(parents=True, exist_ok=True)
            (queue_folder / ("00000000000000000001_x.msg" if kind == "atomic" else "1_x.bad.msg")).touch()
        queue.put({"good": 1})
        try:
            body = queue.get(timeout=5)
        except Exception as exc:  # noqa: BLE001
            return f"consumer raised {exc.__class__.__name__}: {str(exc)[:60]}"
        body.ack()
        return "survived, got the next message" if body.payload == {"good": 1} else f"got {body.payload!r}"


def main() -> None:
    kinds = {
        "atomic": "AgileML atomic filesystem (agileml/broker.py)",
        "sqlalchemy": "kombu SQLAlchemy on a SQLite file",
        "filesystem": "kombu filesystem (before)",
    }
    print(f"  {PRODUCERS} producers x {PER_PRODUCER:,} messages, {CONSUMERS} consumers, polling every {POLL}s")
    for kind, label in kinds.items():
        folder = WORK / kind
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        result = _throughput(kind, folder)
        try:
            latency = f"{_latency(kind, folder) * 1000:.0f} ms"
        except Exception as exc:  # noqa: BLE001
            latency = f"failed ({exc.__class__.__name__})"
        print(f"  {label}:", flush=True)
        print(
            f"    throughput {result['per_second']:,.0f} msg/s ({result['seconds']:.1f} s); lost {result['lost']},"
            f" delivered twice {result['twice']}, corrupt {result['corrupt']},"
            f" process failures {len(result['failures'])}"
        )
        for failure in result["failures"][:2]:
            print("      " + failure.strip().splitlines()[-1][:150])
        print(f"    latency to an idle consumer (median of {LATENCY_ROUNDS}): {latency}")
        try:
            bad = _bad_message(kind, folder)
        except Exception as exc:  # noqa: BLE001
            bad = f"failed: {exc.__class__.__name__}: {str(exc)[:80]}"
        print(f"    a bad message ahead of a good one: {bad}", flush=True)
