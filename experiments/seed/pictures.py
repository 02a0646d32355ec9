"""Small PNG bar charts for the demo data's show-and-tell pictures. Pure: Pillow only, no Django.

The demo needs pictures an engineer would have pasted into a question's demo: a handful
of bars, with labels, values and optional interval whiskers. Drawn at seed time, so the
demo carries no binary files and nothing is fetched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 720, 400
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 24, 56, 70
INK = (31, 41, 55)
MUTED = (107, 114, 128)
GRID = (229, 231, 235)
BAR = (79, 70, 229)
HIGHLIGHT = (22, 163, 74)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    highlight: bool = False


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text_width(draw: ImageDraw.ImageDraw, text: str, font) -> float:
    return draw.textlength(text, font=font)


def bar_chart_png(
    title: str,
    bars: Sequence[Bar],
    *,
    unit: str = "",
    y_min: float = 0.0,
    y_max: float | None = None,
    value_format: str = "{:.3g}",
) -> bytes:
    """A bar chart as PNG bytes: one bar per ``Bar``, whiskers where ``low``/``high`` are given."""
    if not bars:
        raise ValueError("a chart needs at least one bar")
    top = y_max if y_max is not None else max(b.high if b.high is not None else b.value for b in bars) * 1.15
    if top <= y_min:
        raise ValueError("y_max must be above y_min")
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    title_font, label_font, small_font = _font(18), _font(13), _font(12)
    draw.text((MARGIN_LEFT, 18), title, fill=INK, font=title_font)
    plot_left, plot_right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM

    def y_of(value: float) -> float:
        share = (value - y_min) / (top - y_min)
        return plot_bottom - max(0.0, min(1.0, share)) * (plot_bottom - plot_top)

    for step in range(5):
        value = y_min + (top - y_min) * step / 4
        y = y_of(value)
        draw.line([(plot_left, y), (plot_right, y)], fill=GRID, width=1)
        text = value_format.format(value) + unit
        draw.text((plot_left - 8 - _text_width(draw, text, small_font), y - 7), text, fill=MUTED, font=small_font)
    slot = (plot_right - plot_left) / len(bars)
    width = slot * 0.56
    for index, bar in enumerate(bars):
        center = plot_left + slot * (index + 0.5)
        color = HIGHLIGHT if bar.highlight else BAR
        draw.rectangle([center - width / 2, y_of(bar.value), center + width / 2, plot_bottom], fill=color)
        if bar.low is not None and bar.high is not None:
            y_low, y_high = y_of(bar.low), y_of(bar.high)
            draw.line([(center, y_low), (center, y_high)], fill=INK, width=2)
            for y in (y_low, y_high):
                draw.line([(center - 8, y), (center + 8, y)], fill=INK, width=2)
        text = value_format.format(bar.value) + unit
        above = y_of(bar.high if bar.high is not None else bar.value) - 18
        draw.text((center - _text_width(draw, text, label_font) / 2, above), text, fill=INK, font=label_font)
        label_width = _text_width(draw, bar.label, label_font)
        draw.text((center - label_width / 2, plot_bottom + 10), bar.label, fill=INK, font=label_font)
    draw.line([(plot_left, plot_bottom), (plot_right, plot_bottom)], fill=INK, width=1)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
