"""One HTTP POST to a webhook receiver, sent to an address already checked (see ``netguard``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3

from integrations.webhooks.netguard import Target

# A receiver's answer is not read past this: only its status matters.
READ_AT_MOST = 16 * 1024


@dataclass(frozen=True)
class Answer:
    status: int | None
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, address: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Answer:
    """POST ``body`` to ``target`` by connecting to ``address``; redirects are not followed (a redirect
    could lead anywhere, including to a private address)."""
    kwargs: dict = {}
    pool_class: type[urllib3.HTTPConnectionPool] = urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool_class = urllib3.HTTPSConnectionPool
        # Certificate and SNI for the URL's host, though the connection goes to the checked address.
        kwargs = {"server_hostname": target.host, "assert_hostname": target.host, "cert_reqs": "CERT_REQUIRED"}
    pool = pool_class(
        address, target.port, timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False, maxsize=1, **kwargs
    )
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        response.read(READ_AT_MOST)
        response.release_conn()
        return Answer(response.status, _ms(started))
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Answer(None, _ms(started), f"{type(exc).__name__}: {exc}"[:500])
    finally:
        pool.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
