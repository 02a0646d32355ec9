"""Checking demo material before it is stored: images and Markdown notes.

An uploaded image is trusted for nothing. Its first bytes must be those of a PNG,
JPEG, GIF or WebP file (whatever its name or declared type says); Pillow must decode
it completely within a pixel budget; and what is stored is a fresh encoding of the
decoded pixels (PNG, or JPEG for photos), so no metadata, trailing bytes or polyglot
payload of the upload survives. SVG is refused outright: it is a document that can
carry script, not a picture.

Notes are plain UTF-8 Markdown; they are rendered through the sanitiser on display
(``render_note``), never trusted as HTML.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString
from PIL import Image, ImageOps, UnidentifiedImageError

from tickets.markdown import render_markdown

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 24_000_000  # e.g. 6000 × 4000: a large photo, far from a decompression bomb
IMAGE_MAX_SIDE = 10_000
NOTE_MAX_CHARS = 20_000
NOTE_MAX_BYTES = 80_000

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def sniff_image(head: bytes) -> str | None:
    """The image format the first bytes announce (``PNG``, ``JPEG``, ``GIF``, ``WEBP``), or None."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _what_it_looks_like(head: bytes) -> str:
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        return "an SVG document (SVG can carry script, so it is not accepted; export a PNG instead)"
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<")):
        return "an HTML or XML document"
    if text.startswith(b"%pdf"):
        return "a PDF document"
    return "not an image this app accepts"


def _human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def clean_image(data: bytes, *, name: str = "upload", max_bytes: int = IMAGE_MAX_BYTES) -> CleanImage:
    """Validate an uploaded image and return it re-encoded.

    Raises ``ValidationError`` on the ``file`` field, naming the file and what is wrong.
    """
    if not data:
        raise ValidationError({"file": f"{name} is empty."})
    if len(data) > max_bytes:
        raise ValidationError(
            {"file": f"{name} is {_human_size(len(data))}; images may be at most {_human_size(max_bytes)}."}
        )
    announced = sniff_image(data[:16])
    if announced is None:
        raise ValidationError(
            {"file": f"{name} is not a PNG, JPEG, GIF or WebP image: it looks like {_what_it_looks_like(data)}."}
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[announced])
            width, height = image.size
            if width < 1 or height < 1 or width > IMAGE_MAX_SIDE or height > IMAGE_MAX_SIDE:
                raise ValidationError(
                    {"file": f"{name} is {width}×{height} pixels; each side may be at most {IMAGE_MAX_SIDE}."}
                )
            if width * height > IMAGE_MAX_PIXELS:
                raise ValidationError(
                    {"file": f"{name} has {width * height:,} pixels; images may have at most {IMAGE_MAX_PIXELS:,}."}
                )
            image.load()
            if announced == "JPEG":
                image = ImageOps.exif_transpose(image)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as error:  # fmt: skip
        raise ValidationError(
            {"file": f"{name} starts like a {announced} image but cannot be decoded ({type(error).__name__})."}
        ) from None
    out = io.BytesIO()
    if announced == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
        content_type = "image/jpeg"
    else:
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG", optimize=True)
        content_type = "image/png"
    content = out.getvalue()
    return CleanImage(
        content=content,
        content_type=content_type,
        width=image.size[0],
        height=image.size[1],
        sha256=hashlib.sha256(content).hexdigest(),
    )


def clean_note(raw: str | bytes, *, name: str = "note") -> str:
    """A Markdown note as text: UTF-8, no control characters, at most ``NOTE_MAX_CHARS``."""
    if isinstance(raw, bytes):
        if len(raw) > NOTE_MAX_BYTES:
            raise ValidationError(
                {"note": f"{name} is {_human_size(len(raw))}; notes may be at most {_human_size(NOTE_MAX_BYTES)}."}
            )
        if sniff_image(raw[:16]):
            raise ValidationError({"note": f"{name} is an image; upload it as an image, not as a note."})
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(
                {"note": f"{name} is not UTF-8 text (byte {error.start + 1} is not valid UTF-8)."}
            ) from None
    text = raw.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError({"note": f"{name} is empty: write what the demo shows."})
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError(
            {"note": f"{name} has {len(text):,} characters; notes may have at most {NOTE_MAX_CHARS:,}."}
        )
    bad = next((c for c in text if ord(c) < 32 and c not in "\n\t"), None)
    if bad is not None:
        line = text[: text.index(bad)].count("\n") + 1
        raise ValidationError({"note": f"{name} has a control character (code {ord(bad)}) on line {line}."})
    return text


def render_note(text: str) -> SafeString:
    """A note's Markdown as sanitised HTML. No images: the demo page is shown to people outside
    the team and must not call out to other sites; pictures are uploaded as images instead."""
    return render_markdown(text, images=False)
