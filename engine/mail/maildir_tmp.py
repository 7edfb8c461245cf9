"""Leftovers of a killed writer in a Maildir's tmp/: a message is written there and then linked
into new/, so a file still in tmp/ long after was never delivered and never will be. The daemon
removes those older than 36 hours when it starts (the age qmail's maildir(5) gives)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from engine.i18n import _

STALE_SECONDS = 36 * 3600
log = logging.getLogger("tkksd.mail")


def clean_stale_tmp(maildir: Path, *, now: float | None = None) -> int:
    """Remove files in ``maildir/tmp`` not modified for 36 hours; returns how many."""
    tmp = Path(maildir) / "tmp"
    if not tmp.is_dir():
        return 0
    now = time.time() if now is None else now  # the real clock: file times are real
    removed = 0
    for path in tmp.iterdir():
        try:
            if path.is_file() and now - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        log.info("%s", _("removed {n} unfinished message file(s) older than 36 hours from {folder}").format(n=removed, folder=tmp))
    return removed
