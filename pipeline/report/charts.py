"""Charts as inline SVG strings: no script, no external file, readable without a network.

Every label is escaped here; callers pass plain text.
"""

from __future__ import annotations

from html import escape

ACCENT = "#3b6ea8"
LABEL_CHARS = 28  # longer labels are cut; the full text is in the bar's tooltip
ROW_HEIGHT = 22


def _clip(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def bar_chart(items: list[tuple[str, float]], title: str, width: int = 760, label_width: int = 230) -> str:
    """Horizontal bars, one per (label, value), in the given order."""
    peak = max((value for _, value in items), default=0) or 1
    bar_space = width - label_width - 70
    height = ROW_HEIGHT * len(items) + 8
    rows = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * ROW_HEIGHT
        length = max(1.0, bar_space * value / peak)
        rows.append(
            f'<g><title>{escape(label)}: {escape(_number(value))}</title>'
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(_clip(label))}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{ROW_HEIGHT - 6}" fill="{ACCENT}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}">{escape(_number(value))}</text></g>'
        )
    return (f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def histogram(bins: list[tuple[str, int]], title: str, x_label: str, width: int = 760, height: int = 260) -> str:
    """Vertical columns, one per (bin label, count), with the count above each column."""
    peak = max((count for _, count in bins), default=0) or 1
    left, bottom, top = 40, 50, 20
    plot_height = height - bottom - top
    step = (width - left - 10) / max(1, len(bins))
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#888"/>']
    for i, (label, count) in enumerate(bins):
        x = left + i * step
        column = plot_height * count / peak
        y = height - bottom - column
        parts.append(
            f'<g><title>{escape(label)}: {count}</title>'
            f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{step - 6:.1f}" height="{column:.1f}" fill="{ACCENT}"/>'
            f'<text x="{x + step / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{count}</text>'
            f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" class="tick">'
            f'{escape(label)}</text></g>'
        )
    parts.append(f'<text x="{(left + width) / 2:.1f}" y="{height - 10}" text-anchor="middle" class="axis">'
                 f'{escape(x_label)}</text>')
    return (f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
