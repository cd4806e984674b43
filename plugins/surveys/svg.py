"""Bar charts drawn on the server as inline SVG (no script, no external asset: venues have no
internet). Labels and titles are escaped."""
from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = {"promoter": "#2e7d32", "passive": "#9e9e9e", "detractor": "#c62828", None: "#1565c0"}


def bars(labels: list[str], counts: list[int], *, highlight=None, title: str = "") -> Markup:
    """Horizontal bars, one per label, with the count and share written at the end."""
    total = sum(counts) or 1
    top = max(counts, default=0) or 1
    row, label_w, bar_w = 24, 150, 260
    height = row * len(labels) + 4
    parts = [f'<svg class="bars" role="img" viewBox="0 0 {label_w + bar_w + 90} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">']
    for i, (label, n) in enumerate(zip(labels, counts, strict=True)):
        y = i * row + 2
        colour = COLOURS.get(highlight(label) if highlight else None, COLOURS[None])
        width = round(bar_w * n / top, 1)
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="13">{escape(short)}'
                     f'<title>{escape(label)}</title></text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row - 8}" fill="{colour}"/>'
                     f'<text x="{label_w + width + 6}" y="{y + 16}" font-size="12">{n} ({round(100 * n / total)}%)'
                     f'</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
