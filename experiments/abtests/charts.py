"""The running estimate with its confidence sequence over time, as a plotly figure (pure: dicts in, dict out)."""

from __future__ import annotations

from collections.abc import Sequence

BAND = "rgba(13, 110, 253, 0.18)"
LINE = "#0d6efd"


def sequence_figure(points: Sequence[dict], *, metric: str, variant: str, champion: str) -> dict:
    """``points`` are ``{"at": ISO time, "estimate", "cs_low", "cs_high"}`` (None while data is short).

    The band is the always-valid confidence sequence of challenger − champion; it may be read at every
    point, which is why it is drawn as a band over time rather than one interval.
    """
    shown = [p for p in points if p.get("estimate") is not None]
    x = [p["at"] for p in shown]
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": [p["cs_high"] for p in shown],
            "mode": "lines",
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "x": x,
            "y": [p["cs_low"] for p in shown],
            "mode": "lines",
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": BAND,
            "name": "confidence sequence",
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "x": x,
            "y": [p["estimate"] for p in shown],
            "mode": "lines+markers",
            "line": {"color": LINE},
            "marker": {"size": 4},
            "name": f"{variant} − {champion}",
        },
    ]
    return {
        "data": data,
        "layout": {
            "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
            "height": 300,
            "yaxis": {"title": {"text": f"Δ {metric}"}, "zeroline": True, "zerolinecolor": "#888"},
            "xaxis": {"type": "date"},
            "legend": {"orientation": "h", "y": -0.2},
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": 0,
                    "y1": 0,
                    "line": {"color": "#888", "dash": "dot"},
                }
            ],
        },
    }


def sequence_points(snapshots: Sequence[tuple[str, dict]], variant: str) -> list[dict]:
    """The primary comparison of ``variant`` in each ``(ISO time, analysis)`` snapshot."""
    points = []
    for at, analysis in snapshots:
        for challenger in analysis.get("challengers", []):
            if challenger["variant"] == variant:
                p = challenger["primary"]
                points.append({"at": at, "estimate": p["estimate"], "cs_low": p["cs_low"], "cs_high": p["cs_high"]})
    return points
