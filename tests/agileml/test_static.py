"""Static files and pages are served like a production site: hashed names cached for a year,
precompressed copies, compressed HTML, and plotly (a bundle of the traces the app draws) only where
a chart is drawn."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
from django.test import Client

from tests.factories import SprintFactory
from tickets.models import SprintState

PLOTLY = re.compile(r'src="(/static/vendor/plotly/plotly-basic\.min\.[0-9a-f]{12}\.js)"')
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def _get(client: Client, url: str, encoding: str = "identity"):
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


@pytest.fixture
def lead_client(cast):
    client = Client()
    client.force_login(cast.lead)
    return client


@pytest.mark.django_db
def test_every_asset_of_a_page_has_a_hashed_name_and_is_cached_for_a_year(cast, lead_client):
    SprintFactory(project=cast.project, state=SprintState.ACTIVE)
    page = lead_client.get("/p/AUTH/backlog/").content.decode()
    assets = ASSET.findall(page)
    assert assets, "the page links no static files"
    for url in assets:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), f"{url} has no content hash"
        response, body = _get(lead_client, url)
        assert response.status_code == 200, url
        assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"], url
        assert body


@pytest.mark.django_db
def test_plotly_is_precompressed_and_loaded_only_on_chart_pages(cast, lead_client):
    dashboard = lead_client.get("/p/AUTH/dashboard/").content.decode()
    (plotly,) = PLOTLY.findall(dashboard)
    assert not PLOTLY.search(lead_client.get("/p/AUTH/backlog/").content.decode())

    _plain, raw = _get(lead_client, plotly)
    br, packed = _get(lead_client, plotly, "br, gzip")
    gz, zipped = _get(lead_client, plotly, "gzip")
    assert br["Content-Encoding"] == "br" and brotli.decompress(packed) == raw
    assert gz["Content-Encoding"] == "gzip" and gzip.decompress(zipped) == raw
    assert len(packed) < len(raw) / 3
    # Only the trace types the app draws: well under the 4.8 MB of the full bundle.
    assert len(raw) < 1_500_000
    assert b"plotly.js (basic" in raw[:200]


@pytest.mark.django_db
def test_pages_and_api_answers_are_compressed_when_the_browser_accepts_it(cast, lead_client):
    plain = lead_client.get("/p/AUTH/backlog/")
    zipped = lead_client.get("/p/AUTH/backlog/", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content).startswith(plain.content[:15])
    assert len(zipped.content) < len(plain.content)
    assert "Content-Encoding" not in plain


def test_before_anything_is_collected_pages_name_the_plain_files(tmp_path, settings):
    """A benchmark's or a developer's fresh var/: no manifest yet, so the plain names (served by
    WhiteNoise from static/) rather than an error."""
    from agileml.staticfiles import StaticFilesStorage

    fresh = StaticFilesStorage(location=str(tmp_path), base_url="/static/")
    assert fresh.url("vendor/htmx/htmx.min.js") == "/static/vendor/htmx/htmx.min.js"


def test_answers_are_padded_against_breach_and_decompress_to_the_same_page(rf):
    """Level 1 and Django's padding: a random-length file name in each answer's gzip header."""
    from django.http import HttpResponse

    from agileml.compression import GZipMiddleware

    page = ("<li class='ticket-row'>Calibrate the thresholds</li>\n" * 400).encode()
    middleware = GZipMiddleware(lambda request: HttpResponse(page, headers={"ETag": '"v1"'}))
    answers = [middleware(rf.get("/", HTTP_ACCEPT_ENCODING="gzip, br")) for _ in range(20)]
    for answer in answers:
        assert answer["Content-Encoding"] == "gzip" and answer["Vary"] == "Accept-Encoding"
        assert answer["ETag"] == 'W/"v1"' and int(answer["Content-Length"]) == len(answer.content)
        assert gzip.decompress(answer.content) == page
        assert answer.content[3] & 0x08  # FNAME: the padding is there
    assert len({len(a.content) for a in answers}) > 5  # of random length
    assert all(len(a.content) < len(page) // 10 for a in answers)
    short = GZipMiddleware(lambda request: HttpResponse(b"ok"))(rf.get("/", HTTP_ACCEPT_ENCODING="gzip"))
    assert short.content == b"ok" and "Content-Encoding" not in short
    refused = middleware(rf.get("/", HTTP_ACCEPT_ENCODING="br"))
    assert refused.content == page and refused["Vary"] == "Accept-Encoding"
