"""Demo material on question tickets: upload validation, safe serving, the role matrix."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from experiments.dashboards.material import IMAGE_MAX_BYTES, clean_image, render_note, sniff_image
from experiments.dashboards.models import DemoMaterial
from tests.experiments.dashboard_story import build_story, png_bytes

pytestmark = pytest.mark.django_db


SVG_WITH_SCRIPT = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>"""
HTML_AS_PNG = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/projects/')</script></body></html>"


@pytest.fixture
def story(cast):
    return build_story(cast)


def upload(client, key="AUTH-1", *, data=None, name="chart.png", content_type="image/png", **fields):
    payload = {"kind": "image", "title": "A chart", **fields}
    if data is not None:
        payload["file"] = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(f"/t/{key}/demo/", payload)


def test_an_engineer_adds_a_picture_and_everyone_sees_it_served_safely(story, web):
    response = upload(web(story.cast.engineer), data=png_bytes())
    assert response.status_code == 302
    material = DemoMaterial.objects.get()
    assert (material.kind, material.content_type, material.width, material.height) == ("image", "image/png", 40, 24)
    served = web(story.cast.stakeholder).get(f"/p/AUTH/demo/material/{material.pk}/")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"].startswith("sandbox")
    assert served["Content-Disposition"] == f'inline; filename="AUTH-1-{material.pk}.png"'
    assert Image.open(io.BytesIO(served.content)).size == (40, 24)
    download = web(story.cast.stakeholder).get(f"/p/AUTH/demo/material/{material.pk}/?download=1")
    assert download["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("data", "name", "content_type", "message"),
    [
        (SVG_WITH_SCRIPT, "chart.svg", "image/svg+xml", "it looks like an SVG document"),
        (HTML_AS_PNG, "chart.png", "image/png", "it looks like an HTML or XML document"),
        (b"%PDF-1.7 ...", "chart.png", "image/png", "it looks like a PDF document"),
        (b"\x00\x01\x02 just bytes", "chart.jpg", "image/jpeg", "is not a PNG, JPEG, GIF or WebP image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", "image/png", "starts like a PNG image but cannot be"),
    ],
)
def test_anything_but_a_real_image_is_refused_with_a_message_and_nothing_stored(
    story, web, data, name, content_type, message
):
    response = upload(web(story.cast.engineer), data=data, name=name, content_type=content_type)
    assert response.status_code == 400
    page = response.content.decode()
    assert name in page and message in page
    assert not DemoMaterial.objects.exists()


def test_an_oversized_image_is_refused_before_it_is_read(story, web):
    big = png_bytes() + b"\x00" * (IMAGE_MAX_BYTES + 1)
    response = upload(web(story.cast.engineer), data=big, name="huge.png")
    assert response.status_code == 400
    assert "huge.png is 5.0 MB; images may be at most 5.0 MB." in response.content.decode()
    assert not DemoMaterial.objects.exists()


def test_too_many_pixels_are_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (6000, 4001)).save(out, format="PNG")  # tiny file, 24 million pixels
    with pytest.raises(Exception, match="at most 24,000,000"):
        clean_image(out.getvalue(), name="bomb.png")
    out = io.BytesIO()
    Image.new("1", (12_000, 2)).save(out, format="PNG")
    with pytest.raises(Exception, match="each side may be at most 10000"):
        clean_image(out.getvalue(), name="strip.png")


def test_what_is_stored_is_a_fresh_encoding_not_the_upload():
    # A real PNG with an HTML payload after its end, and a JPEG with EXIF metadata.
    polyglot = png_bytes() + HTML_AS_PNG
    clean = clean_image(polyglot)
    assert b"<script>" not in clean.content and clean.content_type == "image/png"
    jpeg = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    Image.new("RGB", (30, 20), (200, 10, 10)).save(jpeg, format="JPEG", exif=exif.tobytes())
    clean = clean_image(jpeg.getvalue())
    assert clean.content_type == "image/jpeg" and b"secret description" not in clean.content
    assert (clean.width, clean.height) == (30, 20)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_gif_and_webp_become_png(fmt):
    out = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 128, 0, 128)).save(out, format=fmt)
    assert sniff_image(out.getvalue()[:16]) == fmt
    clean = clean_image(out.getvalue())
    assert clean.content_type == "image/png" and clean.content.startswith(b"\x89PNG")


def test_a_note_is_rendered_without_script_images_or_javascript_links(story, web):
    text = (
        "**Found it.**\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) "
        '<img src="http://tracker.example/x.png" onerror="alert(1)">\n\n<a href="https://ok.example">ok</a>'
    )
    response = web(story.cast.engineer).post("/t/AUTH-1/demo/", {"kind": "note", "title": "Why", "text": text})
    assert response.status_code == 302
    note = DemoMaterial.objects.get()
    html = str(render_note(note.note))
    assert "<strong>Found it.</strong>" in html
    for bad in ("<script", "javascript:", "<img", "onerror", "tracker.example"):
        assert bad not in html
    assert 'href="https://ok.example"' in html
    page = web(story.cast.stakeholder).get("/p/AUTH/demo/").content.decode()
    assert "<strong>Found it.</strong>" in page and "alert(1)</script>" not in page
    # Notes are shown inline, never served as files.
    assert web(story.cast.stakeholder).get(f"/p/AUTH/demo/material/{note.pk}/").status_code == 404


def test_a_note_file_must_be_utf8_text(story, web):
    client = web(story.cast.engineer)
    bad = SimpleUploadedFile("notes.md", b"caf\xe9 au lait", content_type="text/markdown")
    response = client.post("/t/AUTH-1/demo/", {"kind": "note", "file": bad})
    assert response.status_code == 400
    assert "notes.md is not UTF-8 text (byte 4 is not valid UTF-8)." in response.content.decode()
    good = SimpleUploadedFile("notes.md", "# Café\n\nStable.".encode(), content_type="text/markdown")
    assert client.post("/t/AUTH-1/demo/", {"kind": "note", "file": good}).status_code == 302
    assert DemoMaterial.objects.get().note == "# Café\n\nStable."


def test_an_empty_note_or_a_missing_file_is_named(story, web):
    client = web(story.cast.engineer)
    response = client.post("/t/AUTH-1/demo/", {"kind": "note", "text": "   "})
    assert response.status_code == 400 and "Write the note, or choose a Markdown file." in response.content.decode()
    response = client.post("/t/AUTH-1/demo/", {"kind": "image"})
    assert response.status_code == 400 and "Choose an image file" in response.content.decode()
    assert not DemoMaterial.objects.exists()


def test_demo_material_belongs_to_question_tickets(story, web):
    response = upload(web(story.cast.engineer), key="AUTH-2", data=png_bytes())
    assert response.status_code == 400
    assert "AUTH-2 is a code ticket; demo material belongs to question tickets." in response.content.decode()


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 302), ("lead", 302)])
def test_upload_role_matrix(story, web, who, status):
    response = upload(web(story.cast.user(who)), data=png_bytes())
    assert response.status_code == status
    assert DemoMaterial.objects.exists() == (status == 302)


def test_anonymous_uploads_go_to_the_login_page(story, web):
    response = upload(web(None), data=png_bytes())
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not DemoMaterial.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("stakeholder", 403), ("engineer", 302)])
def test_delete_role_matrix(story, web, who, status):
    upload(web(story.cast.lead), data=png_bytes())
    material = DemoMaterial.objects.get()
    response = web(story.cast.user(who)).post(f"/t/AUTH-1/demo/{material.pk}/delete/")
    assert response.status_code == status
    assert DemoMaterial.objects.exists() == (status != 302)


def test_material_is_only_deleted_through_its_own_ticket(story, web):
    upload(web(story.cast.lead), data=png_bytes())
    material = DemoMaterial.objects.get()
    response = web(story.cast.lead).post(f"/t/AUTH-7/demo/{material.pk}/delete/")
    assert response.status_code == 404
    assert DemoMaterial.objects.exists()
