"""Rendering outbox rows: the mail an outbox row stands for, from the snapshot it recorded.

The notice handler records a snapshot of the values a mail shows; the drain renders it when
it claims the row (and stores the text, so what was sent stays readable), and
`tkksd outbox show` renders a row not drained yet. A row written before snapshots existed,
or already rendered, carries its text and is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.lifecycle import snapshot


@dataclass(frozen=True)
class Text:
    subject: str
    text: str
    html: str


def needs_rendering(row) -> bool:
    return row.snapshot is not None and not row.subject


def render(ctx, kind: str, snap: Any) -> Text:
    """Render ``kind`` with a recorded snapshot, in the language it was recorded in."""
    from engine.lifecycle.notices import renderer_for

    values = snapshot.decode(snap)
    out = renderer_for(ctx, values.get("lang") or ctx.lang).render(kind, values)
    return Text(out.subject, out.text, out.html)


def text_of(ctx, row) -> Text:
    """What the row sends: its stored text, or its snapshot rendered now."""
    if needs_rendering(row):
        return render(ctx, row.kind, row.snapshot)
    return Text(row.subject, row.text_body, row.html_body)
