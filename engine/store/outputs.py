"""Files tkksd writes for people (exports, reports, calendars, graphs, the import template).

Two promises, kept here for every command that writes a file:

* Nothing is ever half-written: the content goes to a temporary file in the target's own folder
  and is renamed into place (``os.replace``, atomic on one file system). A failure (a full disk,
  a refused permission, an error while rendering) leaves the old file, or no file, untouched.
* Nothing of tkksd's own is overwritten: a target that is the database, its ``-wal``/``-shm``/
  ``-journal`` companions, anything inside the Maildir, or a configuration file is refused
  whatever its name, by comparing resolved paths and inodes (a symlink or a hard link to the
  database is the database).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from engine.errors import InvalidInput, TkksdError
from engine.i18n import _

SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class OutputRefused(InvalidInput):
    """A target file that would destroy tkksd's own data, or a folder that cannot take it."""


def sqlite_file(database_url: str) -> Path | None:
    """The SQLite database file of ``database_url`` (None: not a file-backed SQLite URL)."""
    if not database_url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    try:
        name = make_url(database_url).database
    except Exception:  # noqa: BLE001 - an unparsable URL names no file
        return None
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def protected_paths(settings, environ=None) -> tuple[list[Path], list[Path]]:
    """(files, folders) that no output may replace: the database and its companions, the
    configuration files and the OPD directory; the Maildir folder and everything in it."""
    from config.settings import DEFAULTS_FILE

    environ = os.environ if environ is None else environ
    files: list[Path] = []
    db_file = sqlite_file(settings.database_url)
    if db_file is not None:
        files.extend(Path(str(db_file) + suffix) for suffix in SQLITE_COMPANIONS)
    files.append(DEFAULTS_FILE)
    files.append(settings.opd_file)
    if environ.get("TKKSD_CONFIG"):
        files.append(Path(environ["TKKSD_CONFIG"]))
    files.append(settings.cwd / "tkksd.toml")
    if environ.get("TKKSD_SMTP_PASSWORD_FILE"):
        files.append(Path(environ["TKKSD_SMTP_PASSWORD_FILE"]))
    if settings.get("smtp", "password_file"):
        files.append(Path(settings.get("smtp", "password_file")))
    return files, [settings.maildir]


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # a hard link: same device and inode
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_target(target: Path, files: Iterable[Path], folders: Iterable[Path]) -> None:
    """Refuse ``target`` when it is one of tkksd's own files or folders, or cannot be written."""
    for f in files:
        if _same(target, f):
            raise OutputRefused(_("Refusing to write {target}: it is tkksd's own file {file}; choose another name.").format(
                target=target, file=f))
    for folder in folders:
        if _inside(target, folder):
            raise OutputRefused(_("Refusing to write {target}: it is inside the Maildir {folder}; choose another folder.").format(
                target=target, folder=folder))
    if target.is_dir():
        raise OutputRefused(_("{target} is a folder; give a file name.").format(target=target))
    if target.exists() and not target.is_file():
        # A device (/dev/full), a FIFO or a socket: renaming onto it would replace it.
        raise OutputRefused(_("Refusing to write {target}: it is not a regular file.").format(target=target))
    parent = target.parent
    if not parent.is_dir():
        raise OutputRefused(_("The folder {folder} does not exist; create it first or choose another.").format(folder=parent))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(settings, target: str | Path) -> Iterator[Path]:
    """Yield a temporary path (same folder, same suffix) to write; rename it onto ``target``
    when the block ends without error. Any error leaves ``target`` as it was."""
    target = Path(target)
    files, folders = protected_paths(settings)
    check_target(target, files, folders)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".part{target.suffix}")
    except OSError as exc:
        raise OutputRefused(_("Cannot write into the folder {folder}: {reason}.").format(
            folder=target.parent, reason=exc.strerror or exc)) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes 0600; a report is an ordinary file of the user's (their umask decides).
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputRefused(_("Could not write {target}: {reason}; nothing was written.").format(
            target=target, reason=exc.strerror or exc)) from None
    except TkksdError as exc:
        # A writer's refusal names the file it was given; the user gave the target.
        if tmp.name in str(exc) and type(exc).__init__ is TkksdError.__init__:
            raise type(exc)(str(exc).replace(tmp.name, target.name)) from None
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
