"""What the time and mail commands show a person: the daemon's block at start, log lines stamped
in the regency's time, a progress bar during a catch-up or `simulate` (on a terminal), and
whether a terminal is too narrow for a listing's one line per row.

On a terminal (stderr a TTY) the progress is a rich bar that the log lines scroll above; into a
file or journald it is one log line every few seconds instead. Under systemd (``JOURNAL_STREAM``
set) the lines carry no time of their own: journald stamps them.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from engine.i18n import N_, _, moment, number, percent

# Below this many columns a terminal gets `due` and `outbox list` stacked (each row on a few
# lines, so that 80 columns are enough); a wider one, or a pipe, one line per row.
WIDE_TERMINAL = 160

# How often a progress line is logged when stderr is not a terminal.
PROGRESS_LOG_SECONDS = 10.0

STAGES = {"sweep": N_("Catching up deadlines"), "drain": N_("Sending e-mail"), "simulate": N_("Simulating")}
LEVELS = {logging.WARNING: N_("warning"), logging.ERROR: N_("error"), logging.CRITICAL: N_("error"),
          logging.DEBUG: N_("debug")}


def narrow_terminal() -> bool:
    """Whether stdout is a terminal too narrow for a wide listing's one line per row."""
    return sys.stdout.isatty() and shutil.get_terminal_size().columns < WIDE_TERMINAL


class _CurrentStderr:
    """sys.stderr as it is at each write: while a progress bar is live, rich swaps it for a
    proxy that prints above the bar, and the log lines must go there too."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class ZoneFormatter(logging.Formatter):
    """``30 Nov 2026 11.14.05 WITA peringatan: ...``: the time in the configured zone, the level
    in the reader's language (none for plain information)."""

    def __init__(self, zone: ZoneInfo, stamped: bool = True):
        super().__init__()
        self.zone = zone
        self.stamped = stamped
        self.converter = lambda secs: datetime.fromtimestamp(secs, zone).timetuple()

    def formatTime(self, record, datefmt=None) -> str:  # noqa: N802 - logging's name
        from engine.i18n import language, short_day

        local = datetime.fromtimestamp(record.created, self.zone)
        clock = local.strftime("%H.%M.%S" if language() == "id" else "%H:%M:%S")
        return f"{short_day(local.date())} {clock} {local.tzname()}"

    def format(self, record) -> str:
        text = record.getMessage()
        level = LEVELS.get(record.levelno)
        if level:
            text = f"{_(level)}: {text}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return f"{self.formatTime(record)} {text}" if self.stamped else text


def configure_logging(level: str, zone: ZoneInfo) -> None:
    """The daemon's log on stderr: tkksd's own lines at ``level``, the mail library's warnings."""
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(ZoneFormatter(zone, stamped=not os.environ.get("JOURNAL_STREAM")))
    # APScheduler's own warnings say a tick was skipped while the job still ran: expected (one
    # run at a time, backlogs coalesced), nothing a person acts on, and in English.
    for name, at in (("tkksd", getattr(logging, level.upper(), logging.INFO)), ("notifiers", logging.WARNING),
                     ("apscheduler", logging.ERROR)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(at)


def start_block(ctx, daemon_id: str, *, once: bool) -> list[str]:
    """The lines the daemon says at start: database, mail, clock, workflows, how to stop it."""
    from sqlalchemy.engine import make_url

    from engine.mail.transport import describe

    url = make_url(ctx.settings.database_url)
    database = (_("{path} (SQLite)").format(path=url.database) if url.get_backend_name() == "sqlite"
                else url.render_as_string(hide_password=True))
    clock = _("{now} ({zone})").format(now=moment(ctx.clock.now(), ctx.clock.zone), zone=ctx.clock.zone.key)
    if ctx.clock.fixed is not None:
        clock = _("{now} ({zone}; set by TKKSD_NOW)").format(now=moment(ctx.clock.now(), ctx.clock.zone),
                                                            zone=ctx.clock.zone.key)
    versions: dict[str, list[int]] = {}
    for defn in ctx.registry.all():
        versions.setdefault(defn.name, []).append(defn.version)
    workflows = "; ".join(f"{name} v{', v'.join(str(v) for v in sorted(vs))}" for name, vs in sorted(versions.items()))
    rows = [(_("Database"), database), (_("Mail"), describe(ctx.settings)), (_("Clock"), clock),
            (_("Workflows"), workflows)]
    width = max(len(label) for label, _value in rows)
    head = (_("tkksd daemon {id}: one pass, then it exits.") if once else
            _("tkksd daemon {id}: Ctrl-C to stop.")).format(id=daemon_id)
    return [head, *(f"  {label.ljust(width)} : {value}" for label, value in rows)]


def show_start(ctx, daemon_id: str, *, once: bool) -> None:
    click.echo("\n".join(start_block(ctx, daemon_id, once=once)), err=True)


class Progress:
    """``progress(stage, done, total)`` for the daemon and `simulate`: a rich bar on a terminal,
    else a log line every PROGRESS_LOG_SECONDS."""

    def __init__(self, log_name: str = "tkksd.daemon", *, percent: bool = False):
        self.log = logging.getLogger(log_name)
        self.percent = percent  # a share of the way (simulate's clock), not a count of things
        self.terminal = sys.stderr.isatty()
        self._bar = None
        self._tasks: dict[str, int] = {}
        self._last_log = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.terminal:
            self._draw(stage, done, total)
        elif time.monotonic() - self._last_log >= PROGRESS_LOG_SECONDS:
            self._last_log = time.monotonic()
            if self.percent:
                text = _("{stage}: {share}").format(stage=_(STAGES.get(stage, stage)), share=percent(done / max(total, 1)))
            else:
                text = _("{stage}: {done} of {total}").format(stage=_(STAGES.get(stage, stage)), done=number(done),
                                                              total=number(total))
            self.log.info("%s", text)

    def _draw(self, stage: str, done: int, total: int) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn)

        if self._bar is None:
            done_column = TaskProgressColumn() if self.percent else MofNCompleteColumn()
            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), done_column, TimeElapsedColumn(),
                            console=Console(file=sys.stderr), transient=True)
            self._bar.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(_(STAGES.get(stage, stage)), total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._tasks.clear()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
