"""What every command shares: the context, JSON output, --set parsing, failure reporting."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Iterable

import click


def configure_logging() -> None:
    level = os.environ.get("TKKSD_LOG_LEVEL", "warning").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def report_failure(exc: BaseException) -> int:
    """One plain sentence on stderr; the exit code of the error's kind."""
    from engine.errors import TkksdError

    if isinstance(exc, TkksdError):
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        return 130
    if os.environ.get("TKKSD_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, OSError) and not type(exc).__module__.startswith("sqlalchemy"):
        # A file or folder the user named (or its disk): bad input, said plainly.
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        click.echo(f"Error: {where}{exc.strerror or exc}; nothing was changed.", err=True)
        return 2
    if isinstance(exc, OverflowError):
        # A number or a date the user gave, too far out for a date or a count (--days 10**20).
        click.echo(f"Error: a number or a date given is out of range ({exc}); nothing was changed.", err=True)
        return 2
    if isinstance(exc, UnicodeError):
        click.echo("Error: an argument or a value is not valid UTF-8 text; nothing was changed.", err=True)
        return 2
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    module = type(exc).__module__.split(".")[0]
    if module == "sqlalchemy":
        from engine.store.waiting import explain

        waited = explain(exc)
        if waited:
            click.echo(f"Error: {waited}", err=True)
            return 10
        orig = getattr(exc, "orig", None)
        text = str(orig).strip().splitlines()[0] if orig is not None else text
        click.echo(f"Error: the database refused the operation ({text}); nothing was changed.", err=True)
        return 10
    click.echo(f"Error: unexpected {type(exc).__name__}: {text} (set TKKSD_DEBUG=1 for details).", err=True)
    return 1


def undecodable_argument(argv: list[str]) -> str | None:
    """The first argument that was not valid UTF-8 on the command line (Python keeps such bytes
    as lone surrogates), shown with the bad bytes escaped; None when all are fine."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


# The identity this command runs as, established by ``context()`` (engine.lifecycle.access).
_SESSION: dict[str, Any] = {}


def context(check_schema: bool = True, access: str = "read", what: str = ""):
    """The engine's context, once the caller is identified and allowed ``access`` (see
    engine.lifecycle.access: none, init, read, operate)."""
    from engine.lifecycle import access as rules
    from engine.bootstrap import bootstrap
    from engine.store.db import sqlite_path

    from engine import i18n

    ctx = bootstrap(check_schema=check_schema)
    i18n.use(ctx.settings.language)
    path = sqlite_path(ctx.engine)
    if path is not None and not path.exists():
        # Nothing to read the users from, and connecting would create the file.
        _SESSION["identity"] = rules.first_identity(None)
    else:
        _SESSION["identity"] = rules.establish(ctx, access, what=what)
    return ctx


def identity():
    return _SESSION["identity"]


def actor() -> str:
    if "identity" in _SESSION:
        return _SESSION["identity"].login
    from engine.lifecycle.services import current_login

    return current_login()


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def parse_sets(pairs: Iterable[str]) -> dict[str, str]:
    from engine.errors import InvalidInput

    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(f"--set needs key=value, not '{pair}'.")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise InvalidInput(f"--set needs a key before '=', not '{pair}'.")
        if key in out:
            raise InvalidInput(f"--set gives '{key}' twice.")
        out[key] = value
    return out


def table(rows: list[dict[str, Any]], columns: list, total: int | None = None, all_option: str = "--all") -> None:
    """A table for people (engine.cli.tables); --json is for programs."""
    from .tables import table as show_table

    show_table(rows, columns, total=total, all_option=all_option)


def opd_filter(ctx, requested: str | None) -> str | None:
    """The OPD filter a listing must use: the caller's own OPD when reading is limited to it
    (``access.read_all = false``), which a request for another OPD cannot widen."""
    from engine.lifecycle.access import visible_opd
    from engine.errors import PermissionDenied

    own = visible_opd(ctx, identity())
    if own is None:
        return requested
    if requested and requested.upper() != own:
        raise PermissionDenied(f"User '{identity().login}' reads only the agreements of {own}, not {requested.upper()}.")
    return own


def check_visible(ctx, ref: str, lead_opd: str | None = None) -> None:
    """Refuse an agreement the caller may not read (only when reading is limited to one's OPD)."""
    from engine.lifecycle.access import check_agreement_visible, visible_opd

    if visible_opd(ctx, identity()) is None:
        return
    if lead_opd is None:
        from engine.lifecycle.services import show

        a = show(ctx, ref)
        ref, lead_opd = a["id"], a["lead_opd"]
    check_agreement_visible(ctx, identity(), lead_opd, ref)
