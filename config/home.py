"""Where tkksd keeps its data (the SQLite file, the Maildir) when the settings do not say.

The rule does not depend on whichever folder a command happens to run from:

1. ``TKKSD_HOME`` or ``general.home`` in the settings: that folder (relative to the current one).
2. ``./var`` when the current folder is a tkksd deployment or the source checkout: it holds a
   ``tkksd.toml``, a ``var/`` that ``tkksd init`` made (it carries the marker file
   ``var/.tkksd-home``), or tkksd's own ``pyproject.toml`` (so the README's quick start keeps
   ``var/tkksd.db`` and ``var/mail``).
3. Otherwise the user's data folder (``platformdirs.user_data_path("tkksd")``, on Linux
   ``~/.local/share/tkksd``).

The system's mail spool is never used as the Maildir. These are pure path rules, read by the
settings; creating the folder and its files is ``engine.store.home``'s job (only ``tkksd init``).
"""

from __future__ import annotations

import re
from pathlib import Path

MARKER = ".tkksd-home"
SYSTEM_MAIL_SPOOLS = (Path("/var/mail"), Path("/var/spool/mail"))
_OWN_PROJECT = re.compile(r'^\s*name\s*=\s*"tkksd"\s*$', re.MULTILINE)


def is_deployment_folder(folder: Path) -> bool:
    """Whether ``folder`` is a tkksd deployment or tkksd's source checkout."""
    if folder == Path(folder.anchor):
        return False  # never /var of the system
    if (folder / "tkksd.toml").is_file() or (folder / "var" / MARKER).is_file():
        return True
    try:
        return bool(_OWN_PROJECT.search((folder / "pyproject.toml").read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return False


def default_home(cwd: Path) -> Path:
    if is_deployment_folder(cwd):
        return cwd / "var"
    import platformdirs

    return platformdirs.user_data_path("tkksd", appauthor=False)


def resolve_home(configured: str, cwd: Path) -> Path:
    """The home folder for a configured value (empty: chosen by the rule above)."""
    if configured:
        home = Path(configured).expanduser()
        return home if home.is_absolute() else cwd / home
    return default_home(cwd)


def is_system_mail_spool(path: Path) -> bool:
    resolved = path.resolve()
    return any(resolved == spool.resolve() or spool.resolve() in resolved.parents for spool in SYSTEM_MAIL_SPOOLS)
