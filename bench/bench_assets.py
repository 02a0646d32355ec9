"""What a first visit to a chart page downloads: `python -m bench assets`.

Collects the static files as `make run` does, then asks WhiteNoise (in-process, Django's test
client) for every file the base template and a chart page load, with and without
``Accept-Encoding: br, gzip``, and prints bytes on the wire and the Cache-Control each gets.
"Before" is the same set as it was served before hashed, precompressed files: the full plotly
bundle (read from git history), uncompressed, cached for 60 s.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

ROOT = Path(__file__).resolve().parent.parent
FULL_PLOTLY = ("bef65c5", "static/vendor/plotly/plotly.min.js")


def _page_assets() -> list[str]:
    base = (ROOT / "templates" / "base.html").read_text()
    names = sorted(set(re.findall(r"static '([^']+)'", base)))
    return [*names, "agileml/charts.js", "vendor/plotly/plotly-basic.min.js"]


def _fetch(client, url: str, encoding: str) -> tuple[int, str, str]:
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    assert response.status_code == 200, url
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return len(body), response.get("Content-Encoding", "-"), response.get("Cache-Control", "")


def main() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test import Client

    call_command("collectstatic", "--noinput", verbosity=0)
    staticfiles_storage.hashed_files, staticfiles_storage.manifest_hash = staticfiles_storage.load_manifest()
    client = Client()
    print(f"  {'file':46} {'plain':>10} {'on the wire':>12} {'enc':>4}  cache")
    plain_total = wire_total = 0
    for name in _page_assets():
        url = staticfiles_storage.url(name)
        plain, _, _ = _fetch(client, url, "identity")
        wire, encoding, cache = _fetch(client, url, "br, gzip")
        plain_total, wire_total = plain_total + plain, wire_total + wire
        print(f"  {name:46} {plain:>10,} {wire:>12,} {encoding:>4}  {cache}")
    print(f"  {'total':46} {plain_total:>10,} {wire_total:>12,}")
    try:
        shown = subprocess.run(["git", "show", ":".join(FULL_PLOTLY)], cwd=ROOT, capture_output=True, check=True)
        full = len(shown.stdout)
    except (OSError, subprocess.CalledProcessError):
        print("  (the full plotly bundle of the earlier release is not in this checkout's history)")
        return
    basic = len((ROOT / "static/vendor/plotly/plotly-basic.min.js").read_bytes())
    before = plain_total - basic + full
    print(
        f"\n  before: {before:,} bytes uncompressed (full plotly bundle {full:,}), cached 60 s\n"
        f"  now:    {wire_total:,} bytes on the wire ({before / wire_total:.1f}x less), hashed names cached for a year"
    )
