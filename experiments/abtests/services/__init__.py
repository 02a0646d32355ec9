"""Writes for online tests, one module per concern (callers use the package):

- ``lifecycle``: create a draft, start, stop with a decision (shipping goes through the promotion gate)
- ``events``: validate and store batches of outcome events, idempotently
- ``aggregation``: per-variant sufficient statistics and a snapshot of the analysis (run by workers)
"""

from experiments.abtests.services.aggregation import onlinetest_aggregate, onlinetests_behind
from experiments.abtests.services.events import EventBatchError, IngestResult, events_ingest
from experiments.abtests.services.lifecycle import (
    design_cache_key,
    onlinetest_create,
    onlinetest_start,
    onlinetest_stop,
)

__all__ = [
    "EventBatchError",
    "IngestResult",
    "design_cache_key",
    "events_ingest",
    "onlinetest_aggregate",
    "onlinetest_create",
    "onlinetest_start",
    "onlinetest_stop",
    "onlinetests_behind",
]
