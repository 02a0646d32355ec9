"""What a first visit to a chart page downloads, and how soon its charts are drawn: `python -m bench assets`.

Collects the static files as `make run` does, then asks WhiteNoise (in-process, Django's test
client) for every file the base template and a chart page load, with and without
``Accept-Encoding: br, gzip``, and prints bytes on the wire and the Cache-Control each gets.
"Before" is the same set as it was served before hashed, precompressed files: the full plotly
bundle (read from git history), uncompressed, cached for 60 s.

Then the first visit itself, in Debian's chromium: `bench load`'s project behind the web server
`make run` starts, a signed-in member opening the dashboard (the sprint's charts) in a new browser
context each time (an empty cache), VISITS times each: milliseconds from the start of navigation
until every chart on the page is drawn (plotly's ``newPlot`` resolved, timed in the page), and the
same page visited again with the cache filled. The page itself is asked for once first, so the
figure is the browser's work and the assets, not a page rendered for the first time.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

ROOT = Path(__file__).resolve().parent.parent
FULL_PLOTLY = ("bef65c5", "static/vendor/plotly/plotly.min.js")
VISITS = 5
# Set in the page before its scripts run: the moment every chart on it has been drawn.
CHARTS_DRAWN = """
new MutationObserver((changes, observer) => {
  const charts = document.querySelectorAll("[data-figure]");
  if (charts.length && [...charts].every((el) => el.dataset.ready)) {
    window.chartsDrawnAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-ready"]});
"""


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
    first_visits()


def _ask(url: str, cookie: str) -> None:
    import urllib.request

    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}"})  # noqa: S310 (the local server)
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        assert response.status == 200, (url, response.status)
        response.read()


def first_visits() -> None:
    """Milliseconds until a chart page's charts are drawn in chromium, with an empty and a filled cache."""
    import shutil
    import statistics
    import tempfile

    from playwright.sync_api import sync_playwright

    from bench.bench_dashboards import _build
    from bench.bench_load import SCALE, _database_url, _members, _pages, _setup_database
    from tests.agileml.slow_clients import ASYNC_SERVER, WebServer
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    connection, old = _setup_database()
    var = Path(tempfile.mkdtemp(prefix="bench-assets-"))
    server = None
    try:
        project = _build("LOAD", SCALE)[0]
        cookie = _members(project)[0]
        pages = dict(_pages(project))
        server = WebServer(var, ASYNC_SERVER, DATABASE_URL=_database_url(connection), LOG_LEVEL="WARNING")
        server.env.update(STATIC_ROOT=str(var / "static"), SECRET_KEY=os.environ["SECRET_KEY"])
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=server.env, check=True
        )
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        print(f"\n  first visit in chromium ({VISITS} new browser contexts), ms until every chart is drawn:")
        print(f"  {'page':12} {'charts':>6} {'empty cache':>12} {'(min-max)':>13} {'cache filled':>13}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for label in ("dashboard",):
                url = base + pages[label]
                _ask(url, cookie)  # rendered and kept by the server before timing
                cold, warm = [], []
                for _ in range(VISITS):
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
                    context.add_init_script(CHARTS_DRAWN)
                    page = context.new_page()
                    for times in (cold, warm):
                        page.goto(url)
                        page.wait_for_function("() => window.chartsDrawnAt !== undefined", timeout=30_000)
                        times.append(page.evaluate("window.chartsDrawnAt"))
                    charts = page.evaluate("document.querySelectorAll('[data-figure]').length")
                    context.close()
                spread = f"({min(cold):.0f}-{max(cold):.0f})"
                print(
                    f"  {label:12} {charts:>6} {statistics.median(cold):>12.0f} {spread:>13} "
                    f"{statistics.median(warm):>13.0f}"
                )
            browser.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(var, ignore_errors=True)
        connection.close()
        connection.creation.destroy_test_db(old, verbosity=0)
