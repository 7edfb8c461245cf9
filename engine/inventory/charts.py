"""Charts of the report as SVG elements built with ElementTree (values escaped by the serializer).

One function per chart kind: ``bars`` (horizontal, labelled categories), ``columns`` (a series
over time), ``stacked_columns`` (several series over time, with a legend) and ``share`` (a part
of a whole). Every chart is ``WIDTH`` user units wide and is shown at the full width of the A4
text column (about 700 CSS px), so one unit prints as about one CSS pixel: the ``FONT`` of 12
units prints at 9 pt, never below 8 pt. Long labels are wrapped onto two lines, never clipped.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from typing import Any, Sequence

WIDTH = 680
FONT = 12
LINE = 15  # line height of a label, in user units
PALETTE = ["#1f6f8b", "#e07a2f", "#3f9b4b", "#b5446e", "#7a5cc4", "#c9a227", "#4a8fc9", "#8c6d3f", "#5aa39a", "#d1495b"]
FONT_FAMILY = "DejaVu Sans, Arial, sans-serif"


def text_width(text: str, size: int = FONT) -> float:
    """A safe estimate of the width of ``text`` in DejaVu Sans (0.62 em per character on average)."""
    return len(text) * size * 0.62


def _svg(height: float, title: str) -> ET.Element:
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "class": "chart", "width": str(WIDTH), "height": str(round(height)),
        "viewBox": f"0 0 {WIDTH} {round(height)}", "role": "img", "aria-label": title,
        "font-family": FONT_FAMILY, "font-size": str(FONT), "fill": "#1d2b36",
    })
    ET.SubElement(svg, "title").text = title
    return svg


def _text(parent: ET.Element, x: float, y: float, content: str, *, anchor: str = "start", bold: bool = False,
          size: int = FONT) -> ET.Element:
    attrs = {"x": f"{x:.1f}", "y": f"{y:.1f}", "text-anchor": anchor, "font-size": str(size)}
    if bold:
        attrs["font-weight"] = "bold"
    el = ET.SubElement(parent, "text", attrs)
    el.text = content
    return el


def _wrapped_label(parent: ET.Element, x: float, y_mid: float, label: str, max_chars: int) -> None:
    """A right-aligned label on one or two lines, vertically centred on ``y_mid``."""
    lines = textwrap.wrap(label, max_chars) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), max_chars, placeholder="…")]
    first = y_mid + FONT * 0.35 - (len(lines) - 1) * LINE / 2
    for n, line in enumerate(lines):
        _text(parent, x, first + n * LINE, line, anchor="end")


def _serialize(svg: ET.Element) -> str:
    return ET.tostring(svg, encoding="unicode")


def empty(message: str) -> str:
    return f'<p class="empty">{_escape(message)}</p>'


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def bars(items: Sequence[dict[str, Any]], *, title: str, empty_text: str, bar: int = 18) -> str:
    """Horizontal bars, one per item (``label``, ``count``), labels on the left wrapped to fit."""
    if not items:
        return empty(empty_text)
    label_width = min(max(text_width(str(i["label"])) for i in items) + 10, WIDTH * 0.45)
    max_chars = max(12, int((label_width - 10) / (FONT * 0.62)))
    rows = [textwrap.wrap(str(i["label"]), max_chars) or [""] for i in items]
    heights = [max(bar, min(len(r), 2) * LINE) + 8 for r in rows]
    svg = _svg(sum(heights) + 6, title)
    top = max(i["count"] for i in items) or 1
    plot = WIDTH - label_width - 50
    y = 4.0
    for n, (item, h) in enumerate(zip(items, heights)):
        mid = y + h / 2
        _wrapped_label(svg, label_width - 8, mid, str(item["label"]), max_chars)
        w = max(1.0, plot * item["count"] / top)
        rect = ET.SubElement(svg, "rect", {"x": f"{label_width:.1f}", "y": f"{mid - bar / 2:.1f}", "width": f"{w:.1f}",
                                           "height": str(bar), "rx": "2", "fill": PALETTE[n % len(PALETTE)]})
        ET.SubElement(rect, "title").text = f"{item['label']}: {item['count']}"
        _text(svg, label_width + w + 6, mid + FONT * 0.35, str(item["count"]), bold=True)
        y += h
    return _serialize(svg)


def _label_every(keys: Sequence[str], slot: float) -> int:
    """Every how many columns to print an axis label, so the labels never overlap."""
    longest = max((text_width(k) for k in keys), default=0)
    every = 1
    while longest + 4 > slot * every:
        every += 1
    return every


def columns(items: Sequence[dict[str, Any]], *, title: str, empty_text: str, height: int = 175,
            color: str = PALETTE[0]) -> str:
    """Vertical columns over time (``label``, ``count``): a trend."""
    return stacked_columns([i["label"] for i in items], [("", [i["count"] for i in items], color)],
                           title=title, empty_text=empty_text, height=height) if items else empty(empty_text)


def stacked_columns(keys: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]], *, title: str,
                    empty_text: str, height: int = 190) -> str:
    """Columns over ``keys``, each stacked from ``series`` (name, values, colour); a legend when named."""
    if not keys or not any(sum(v) for _, v, _ in series):
        return empty(empty_text)
    named = [s for s in series if s[0]]
    legend_rows = _legend_rows([s[0] for s in named])
    legend_h = len(legend_rows) * LINE + (6 if legend_rows else 0)
    left, bottom, top_pad = 40, 2 * LINE + 6, 18
    svg = _svg(height + legend_h, title)
    plot_h = height - bottom - top_pad
    totals = [sum(s[1][k] for s in series) for k in range(len(keys))]
    top = max(totals) or 1
    slot = (WIDTH - left - 10) / len(keys)
    ET.SubElement(svg, "line", {"x1": str(left), "y1": f"{top_pad + plot_h:.1f}", "x2": str(WIDTH - 10),
                                "y2": f"{top_pad + plot_h:.1f}", "stroke": "#8899a6"})
    every = _label_every(keys, slot)
    for k, key in enumerate(keys):
        x = left + k * slot + slot * 0.15
        y = top_pad + plot_h
        for _, values, color in series:
            h = plot_h * values[k] / top
            if h > 0:
                rect = ET.SubElement(svg, "rect", {"x": f"{x:.1f}", "y": f"{y - h:.1f}", "width": f"{slot * 0.7:.1f}",
                                                   "height": f"{h:.1f}", "fill": color})
                ET.SubElement(rect, "title").text = f"{key}: {values[k]}"
            y -= h
        if totals[k] and (len(keys) <= 24 or totals[k] == top):
            _text(svg, x + slot * 0.35, y - 4, str(totals[k]), anchor="middle", bold=True)
        if k % every == 0:
            _text(svg, x + slot * 0.35, top_pad + plot_h + LINE, key, anchor="middle")
    _legend(svg, legend_rows, named, height)
    return _serialize(svg)


def _legend_rows(names: Sequence[str]) -> list[list[int]]:
    rows: list[list[int]] = []
    x = 0.0
    for n, name in enumerate(names):
        w = text_width(name) + 30
        if not rows or x + w > WIDTH - 20:
            rows.append([])
            x = 0.0
        rows[-1].append(n)
        x += w
    return rows


def _legend(svg: ET.Element, rows: list[list[int]], named: Sequence[tuple[str, Sequence[int], str]], y0: float) -> None:
    for r, row in enumerate(rows):
        x = 40.0
        y = y0 + r * LINE
        for n in row:
            name, _, color = named[n]
            ET.SubElement(svg, "rect", {"x": f"{x:.1f}", "y": f"{y - 10:.1f}", "width": "12", "height": "12", "fill": color})
            _text(svg, x + 16, y, name)
            x += text_width(name) + 30


def share(part: int, whole: int, *, title: str, caption: str) -> str:
    """One bar filled to ``part / whole`` with the caption (e.g. ``48,4% (43 dari 89)``) in it."""
    svg = _svg(34, title)
    ratio = part / whole if whole else 0
    ET.SubElement(svg, "rect", {"x": "1", "y": "1", "width": str(WIDTH - 2), "height": "26", "rx": "3",
                                "fill": "#e8eef2", "stroke": "#99bbbb"})
    ET.SubElement(svg, "rect", {"x": "1", "y": "1", "width": f"{(WIDTH - 2) * ratio:.1f}", "height": "26", "rx": "3",
                                "fill": "#3f9b4b"})
    _text(svg, WIDTH / 2, 19, caption, anchor="middle", bold=True)
    return _serialize(svg)
