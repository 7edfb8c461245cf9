"""What every command shares: the context, JSON output, --set parsing, failure reporting."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from typing import Any, Iterable

import click

from engine.i18n import N_


def configure_logging() -> None:
    level = os.environ.get("TKKSD_LOG_LEVEL", "warning").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _say_error(message: str) -> None:
    from engine.i18n import _

    click.echo(_("Error: {message}").format(message=message), err=True)


def report_failure(exc: BaseException) -> int:
    """One plain sentence on stderr; the exit code of the error's kind."""
    from engine.errors import TkksdError
    from engine.i18n import _

    if isinstance(exc, TkksdError):
        _say_error(str(exc))
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        click.echo(_("Interrupted."), err=True)
        return 130
    if os.environ.get("TKKSD_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, OSError) and not type(exc).__module__.startswith("sqlalchemy"):
        # A file or folder the user named (or its disk): bad input, said plainly.
        _say_error(_os_problem(exc))
        return 2
    if isinstance(exc, OverflowError):
        # A number or a date the user gave, too far out for a date or a count (--days 10**20).
        _say_error(_("a number or a date given is out of range ({problem}); nothing was changed.").format(problem=exc))
        return 2
    if isinstance(exc, UnicodeError):
        _say_error(_("an argument or a value is not valid UTF-8 text; nothing was changed."))
        return 2
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        # The operating system refuses a path with a NUL character in it (os.stat, open).
        _say_error(_("a file or folder name contains a NUL character; nothing was changed."))
        return 2
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    module = type(exc).__module__.split(".")[0]
    if module == "sqlalchemy":
        from engine.store.waiting import explain

        waited = explain(exc)
        if waited:
            _say_error(waited)
            return 10
        orig = getattr(exc, "orig", None)
        text = str(orig).strip().splitlines()[0] if orig is not None else text
        _say_error(_("the database refused the operation ({problem}); nothing was changed.").format(problem=text))
        return 10
    _say_error(_("unexpected {kind}: {problem} (set TKKSD_DEBUG=1 for details).").format(kind=type(exc).__name__, problem=text))
    return 1


# The operating system's reasons people meet most, in their language (errno -> sentence); the
# system's own English text for the rest.
_OS_REASONS = {
    errno.ENOENT: N_("{path}: no such file or folder; nothing was changed."),
    errno.EACCES: N_("{path}: permission denied; nothing was changed."),
    errno.EPERM: N_("{path}: permission denied; nothing was changed."),
    errno.ENOSPC: N_("{path}: the disk is full; nothing was changed."),
    errno.EROFS: N_("{path}: the file system is read-only; nothing was changed."),
    errno.EISDIR: N_("{path}: is a folder, not a file; nothing was changed."),
    errno.ENOTDIR: N_("{path}: a part of the path is not a folder; nothing was changed."),
}


def _os_problem(exc: OSError) -> str:
    from engine.i18n import _

    path = exc.filename if getattr(exc, "filename", None) else None
    if path is not None and exc.errno in _OS_REASONS:
        return _(_OS_REASONS[exc.errno]).format(path=path)
    where = f"{path}: " if path is not None else ""
    return _("{where}{reason}; nothing was changed.").format(where=where, reason=exc.strerror or exc)


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

    from engine.i18n import _

    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(_("--set needs key=value, not '{pair}'.").format(pair=pair))
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise InvalidInput(_("--set needs a key before '=', not '{pair}'.").format(pair=pair))
        if key in out:
            raise InvalidInput(_("--set gives '{key}' twice.").format(key=key))
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
    from engine.i18n import _

    own = visible_opd(ctx, identity())
    if own is None:
        return requested
    if requested and requested.upper() != own:
        raise PermissionDenied(_("User '{login}' reads only the agreements of {opd}, not {requested}.").format(
            login=identity().login, opd=own, requested=requested.upper()))
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
