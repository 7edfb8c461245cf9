"""Tables for people, sized to the terminal (rich); ``--json`` is for programs.

On a terminal the table takes its width: the widest text column wraps, the id column never does,
colour marks the heading unless ``NO_COLOR`` is set (rich reads it). Into a pipe or a file there
is no colour and no wrapping: one row per line, as ``grep`` and ``cut`` expect.

When a listing shows fewer rows than there are, a footer on stderr says so and how to see all
("200 dari 496; --all untuk semua").
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Sequence

from engine.i18n import _


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # already in the reader's language
    wide: bool = False  # the column that wraps first when the terminal is narrow
    keep: bool = False  # never wrapped nor shortened (ids)
    right: bool = False  # numbers


def _console(stream=None):
    from rich.console import Console

    stream = stream or sys.stdout
    if stream.isatty():
        return Console(file=stream, highlight=False, soft_wrap=False)
    # Not a terminal: as wide as the longest line, so nothing wraps; no colour (rich detects it).
    return Console(file=stream, highlight=False, width=int(os.environ.get("TKKSD_TABLE_WIDTH", "100000")), no_color=True)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column | tuple[str, str]], *,
          total: int | None = None, all_option: str = "--all") -> None:
    """Print ``rows`` under ``columns``; ``total`` is how many rows exist when only some are shown."""
    from rich import box
    from rich.table import Table

    cols = [c if isinstance(c, Column) else Column(c[0], c[1], keep=c[0] in ("id", "agreement", "code")) for c in columns]
    console = _console()
    if not rows:
        console.print(_("(none)"))
    else:
        grid = Table(box=box.SIMPLE_HEAD if console.is_terminal else None, show_edge=False, pad_edge=False,
                     header_style="bold" if console.is_terminal else "", expand=False)
        for c in cols:
            grid.add_column(c.title, no_wrap=c.keep, overflow="fold" if c.wide else "ellipsis",
                            justify="right" if c.right else "left", min_width=None,
                            ratio=1 if c.wide and console.is_terminal else None)
        for r in rows:
            grid.add_row(*(_cell(r.get(c.key)) for c in cols))
        with console.capture() as captured:
            console.print(grid)
        # rich pads every cell to its column's width; the line ends where its text does.
        sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    if total is not None and total > len(rows):
        footer(len(rows), total, all_option)


def footer(shown: int, total: int, all_option: str = "--all") -> None:
    from engine.i18n import number

    print(_("{shown} of {total}; {option} for all").format(shown=number(shown), total=number(total), option=all_option),
          file=sys.stderr)


def _cell(value: Any) -> str:
    from rich.markup import escape

    if value is None:
        return ""
    return escape(str(value))
