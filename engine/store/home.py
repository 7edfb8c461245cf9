"""The home folder on disk: made by ``tkksd init`` only (0700, with a marker file), its database
and Maildir files kept private. Which folder it is — the rule that never depends on whichever
folder a command runs from, and never takes the system's mail spool — is ``config.home``.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.home import MARKER, SYSTEM_MAIL_SPOOLS, default_home, is_deployment_folder, is_system_mail_spool, resolve_home  # noqa: F401 - the rule, re-exported for the store

from engine.i18n import _

def prepare_home(home: Path, *, parents: bool = False, group: str | None = None) -> bool:
    """Create the home folder (private to its owner) with its marker; True when it was made.
    A configured home is made only at its last level (a typo must not build a tree); the
    user's data folder is made with its parents."""
    from engine.errors import ConfigurationError

    if parents:
        home.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not home.parent.is_dir():
        raise ConfigurationError(_("The folder {folder} does not exist, so the tkksd home {home} cannot be made; create it first "
                                   "or set TKKSD_HOME.").format(folder=home.parent, home=home))
    made = False
    if not home.exists():
        home.mkdir(mode=0o700)
        made = True
    if group:
        import shutil

        shutil.chown(home, group=group)
        os.chmod(home, 0o750)
    marker = home / MARKER
    if not marker.exists():
        marker.write_text("This folder holds tkksd's data (made by `tkksd init`).\n", encoding="utf-8")
    return made


def sqlite_folder_ready(db_file: Path, home: Path, *, parents: bool = False) -> None:
    """`tkksd init` refuses a database folder that does not exist (naming it), unless it is the
    home folder, which init makes."""
    from engine.errors import ConfigurationError

    folder = db_file.parent
    if folder.is_dir():
        return
    if folder.resolve() == home.resolve():
        prepare_home(home, parents=parents)
        return
    raise ConfigurationError(_("The database folder {folder} does not exist; create it first (tkksd does not make it).")
                             .format(folder=folder))


def private_file(path: Path, group: str | None = None) -> None:
    """Restrict a data file to its owner (0600), or its owner and ``group`` (0640)."""
    if not path.exists():
        return
    if group:
        import shutil

        shutil.chown(path, group=group)
        os.chmod(path, 0o640)
    else:
        os.chmod(path, 0o600)


def where(settings) -> str:
    """One line for people: where the database and the mail are."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    database = url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)
    if settings.get("mail", "transport", "maildir") == "smtp":
        return _("Database: {database}; mail: sent by SMTP to {host}:{port}.").format(
            database=database, host=settings.get("smtp", "host"), port=settings.get("smtp", "port"))
    return _("Database: {database}; mail: in the Maildir {maildir}.").format(database=database, maildir=settings.maildir)


def secure_sqlite_files(db_file: Path, group: str | None = None) -> None:
    """The database and its WAL companions readable by their owner only (or a configured group):
    they hold every agreement and the bodies of the mail in the outbox."""
    for suffix in ("", "-wal", "-shm"):
        private_file(Path(str(db_file) + suffix), group)


def private_umask(group: str | None = None) -> None:
    """Files this process creates from now on (Maildir messages, SQLite's -wal/-shm) are the
    owner's only (0600), or the owner's and the configured group's (0640)."""
    os.umask(0o027 if group else 0o077)
