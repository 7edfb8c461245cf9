"""Which database URLs tkksd can use, decided before SQLAlchemy is asked: a URL tkksd cannot
use is a configuration error (exit 9) naming the setting and what to write instead, never a
database error or a traceback about a missing driver module."""

from __future__ import annotations

import importlib.util

from engine.errors import ConfigurationError
from engine.i18n import _

# The drivers tkksd's URLs need, and the package that provides each.
DRIVERS = {"sqlite": ("sqlite3", "Python's sqlite3 module (part of a standard Python build)"),
           "postgresql": ("psycopg", "psycopg (pip install 'psycopg[binary]')")}
EXAMPLES = "sqlite:///var/tkksd.db or postgresql://USER@HOST:5432/DBNAME"


def backend_of(url: str) -> str:
    """'sqlite' or 'postgresql' for a URL tkksd accepts; ConfigurationError otherwise."""
    from sqlalchemy.engine import make_url

    shown = _redacted(url)
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - SQLAlchemy raises ArgumentError or ValueError
        raise ConfigurationError(
            _("The database URL '{url}' (general.database_url or TKKSD_DATABASE_URL) is not a URL; write e.g. {examples}.")
            .format(url=shown, examples=EXAMPLES)
        ) from None
    # From the URL's own text: asking SQLAlchemy for the driver name would load the dialect.
    backend, _sep, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        backend = "postgresql"
    if backend not in DRIVERS:
        raise ConfigurationError(
            _("The database URL '{url}' uses '{backend}', which tkksd does not support; use SQLite or PostgreSQL, e.g. {examples}.")
            .format(url=shown, backend=backend, examples=EXAMPLES)
        )
    if backend == "sqlite" and driver not in ("", "pysqlite"):
        raise ConfigurationError(
            _("The database URL '{url}' asks for the driver '{driver}'; tkksd uses Python's sqlite3 (write sqlite:///PATH).")
            .format(url=shown, driver=driver)
        )
    if backend == "postgresql" and driver not in ("", "psycopg", "psycopg2"):
        raise ConfigurationError(
            _("The database URL '{url}' asks for the driver '{driver}'; tkksd uses psycopg (write postgresql://…).")
            .format(url=shown, driver=driver)
        )
    module, package = DRIVERS[backend]
    if driver == "psycopg2":
        module, package = "psycopg2", "psycopg2 (pip install psycopg2-binary), or write postgresql:// to use psycopg"
    if importlib.util.find_spec(module) is None:
        raise ConfigurationError(_("The database URL '{url}' needs the Python package {package}, which is not installed.")
                                 .format(url=shown, package=package))
    return backend


def _redacted(url: str) -> str:
    """The URL as it may be printed: no password, no undecodable characters."""
    try:
        from sqlalchemy.engine import make_url

        text = make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given, shortened
        text = url
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 120 else text[:117] + "..."
