"""Charts for the web catalog as inline SVG, drawn here (no plotting service, no script).

Each chart carries a <title> and a <desc> that say in words what it draws, for screen readers and
for anyone whose browser shows no images; every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 16, 40
_INK = "#1a1a1a"  # on white: contrast 17:1
_LINE = "#0b5394"  # on white: contrast 7.8:1


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def size_chart(chart_id: str, points: Sequence[tuple[str, int]]) -> str:
    """Image size over releases, oldest first: `points` are (version, bytes)."""
    title = "Image size over releases"
    if not points:
        desc = "No release yet."
    else:
        desc = "; ".join(f"{version}: {megabytes(size)}" for version, size in points) + "."
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{title}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )
    if not points:
        return head + "</svg>"
    top = max(size for _, size in points) or 1
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    step = plot_w / max(len(points) - 1, 1)
    coords = [(_LEFT + i * step, _TOP + plot_h * (1 - size / top)) for i, (_, size) in enumerate(points)]
    parts = [
        head,
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}" stroke="{_INK}"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" stroke="{_INK}"/>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end" font-size="12" fill="{_INK}">{megabytes(top)}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end" font-size="12" fill="{_INK}">0</text>',
    ]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{_LINE}" stroke-width="2"/>')
    for (version, size), (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{_LINE}">'
            f"<title>{escape(version)}: {megabytes(size)}</title></circle>"
        )
    # Label the first and last releases only: many labels would overlap on a long history.
    for index in sorted({0, len(points) - 1}):
        x = coords[index][0]
        anchor = "start" if index == 0 else "end"
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 14}" text-anchor="{anchor}" font-size="12" '
            f'fill="{_INK}">{escape(points[index][0])}</text>'
        )
    return "".join(parts) + "</svg>"


def latency_chart(chart_id: str, bars: Sequence[tuple[str, int]]) -> str:
    """One bar per CVE fixed: (label, days from its package's publication to the release)."""
    title = "Days from each fix's publication to its release"
    desc = "; ".join(f"{label}: {days} days" for label, days in bars) + "." if bars else "No fix to measure."
    row = 22
    height = _TOP + max(len(bars), 1) * row + 8
    ids = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-labelledby="{ids}-title {ids}-desc">'
        f'<title id="{ids}-title">{title}</title><desc id="{ids}-desc">{escape(desc)}</desc>'
    ]
    label_w = 220
    top = max((days for _, days in bars), default=0) or 1
    for index, (label, days) in enumerate(bars):
        y = _TOP + index * row
        width = (WIDTH - label_w - 80) * days / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" font-size="12" fill="{_INK}">'
            f"{escape(label[:32])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="14" fill="{_LINE}">'
            f"<title>{escape(label)}: {days} days</title></rect>"
            f'<text x="{label_w + width + 6:.1f}" y="{y + 14}" font-size="12" fill="{_INK}">{days} d</text>'
        )
    return "".join(parts) + "</svg>"
