"""Who is acting, and what they may read: tkksd's trust model.

Identity
    SQLite: the operating-system account that runs the command. PostgreSQL: the database login
    of the connection (each coordinator connects as their own role), so no environment variable
    can make one person another; a login that owns the data (the database's or the tables'
    owner, a superuser: the daemon's and the administrators' role) is trusted like the SQLite
    file's owner and identified by its OS account. tkksd maps the identity to its user of the
    same login.
    ``TKKSD_USER`` names another user only when the identity itself holds the admin role, or
    owns the data (the owner of the SQLite file, or the owner of the tables / a superuser on
    PostgreSQL: they can change anything in it with sqlite3 or psql anyway), which is how tests
    and service accounts act for others. ``system`` is the daemon's own identity and no one can
    take it.

Levels of a command
    ``none``     nothing is needed (``--help``, ``mail test`` before a database exists)
    ``init``     anyone on an empty database (they become its admin); an admin afterwards
    ``read``     any registered, active user, or a service account (``access.service_accounts``)
    ``operate``  the secretariat, an admin, or a service account: ``daemon``, ``doctor --fix``,
                 ``outbox retry``

With ``access.read_all = false`` an OPD user reads only the agreements their OPD leads.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from typing import Mapping

import sqlalchemy as sa

from engine.errors import InvalidInput, PermissionDenied
from engine.i18n import N_, _

SYSTEM = "system"
LOGIN_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
LEVELS = ("none", "init", "read", "operate")

# What each role is called where people read it (the code is what `user add --role` takes).
ROLE_LABELS = {
    "opd": N_("OPD user"),
    "secretariat": N_("secretariat"),
    "tkksd": N_("TKKSD member"),
    "chair": N_("TKKSD chair"),
    "admin": N_("admin"),
    SYSTEM: N_("system"),
}


def role_label(role: str) -> str:
    """A role as people call it, in the reader's language (the code when it has no label)."""
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def check_login(login: str, what: str | None = None) -> str:
    """A login: letters, digits, '_', '.', '-', not starting with '.' or '-', at most 64 characters.
    ``what``: the name of what gave it (``TKKSD_USER``) when it is not a login typed as such."""
    if not LOGIN_PATTERN.fullmatch(login or ""):
        shown = (login or "")[:40].encode("utf-8", "backslashreplace").decode("utf-8")
        shown += "…" if len(login or "") > 40 else ""
        rule = _("use at most 64 letters, digits, '_', '.' or '-', starting with a letter, a digit or '_'.")
        if what:
            raise InvalidInput(_("{variable} '{login}' is not valid: {rule}").format(variable=what, login=shown, rule=rule))
        raise InvalidInput(_("The login name '{login}' is not valid: {rule}").format(login=shown, rule=rule))
    return login


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return str(os.getuid())


@dataclass(frozen=True)
class Identity:
    login: str              # the tkksd user acting
    base: str               # the account that authenticated (OS account or database role)
    roles: frozenset[str]   # empty: not registered
    opd_code: str | None
    service: bool           # a service account named in the settings

    def holds(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    @property
    def registered(self) -> bool:
        return bool(self.roles)

    def may_operate(self) -> bool:
        return self.service or self.holds("secretariat")


def base_identity(conn: sa.Connection, owner: bool | None = None) -> str:
    """The authenticated account: on PostgreSQL the database login, unless that login owns the
    data (the owner's role, a superuser), which is trusted like the SQLite file's owner and so
    identified by its OS account; on SQLite the OS account."""
    if conn.dialect.name == "postgresql":
        if owner is None:
            owner = owns_the_data(conn)
        if not owner:
            return conn.execute(sa.text("SELECT current_user")).scalar_one()
    return os_login()


def owns_the_data(conn: sa.Connection) -> bool:
    """Whether the authenticated account owns the database (and so is trusted by nature)."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(sa.text(
            "SELECT r.rolsuper OR d.datdba = r.oid OR COALESCE(t.tableowner = current_user, false) "
            "FROM pg_roles r JOIN pg_database d ON d.datname = current_database() "
            "LEFT JOIN pg_tables t ON t.tablename = 'agreements' AND t.schemaname = current_schema() "
            "WHERE r.rolname = current_user")).first()
        return bool(row and row[0])
    name = conn.engine.url.database
    try:
        return bool(name) and os.stat(name).st_uid == os.getuid()
    except (OSError, AttributeError):
        return False


def _user(conn: sa.Connection, login: str):
    from engine.store.tables import users

    return conn.execute(
        sa.select(users.c.roles, users.c.active, users.c.opd_code).where(users.c.login == login)
    ).first()


def _roles(row) -> frozenset[str]:
    if row is None or not row.active:
        return frozenset()
    return frozenset(r for r in row.roles.split(",") if r)


def identify(conn: sa.Connection, settings, environ: Mapping[str, str] | None = None) -> Identity:
    """Who acts, by the rules above; PermissionDenied when TKKSD_USER asks for what it may not."""
    environ = os.environ if environ is None else environ
    owner = owns_the_data(conn)
    base = base_identity(conn, owner)
    wanted = environ.get("TKKSD_USER") or ""
    services = tuple(settings.get("access", "service_accounts", []) or [])
    if wanted == SYSTEM:
        raise PermissionDenied(_("No one can act as 'system': it is the daemon's own identity (TKKSD_USER=system is refused)."))
    base_row = _user(conn, base)
    if not wanted or wanted == base:
        return Identity(base, base, _roles(base_row), base_row.opd_code if base_row else None, base in services)
    check_login(wanted, "TKKSD_USER")
    if "admin" not in _roles(base_row) and not owner:
        if conn.dialect.name == "postgresql":
            raise PermissionDenied(_("TKKSD_USER={wanted} is honoured only for an admin's account, and '{base}' is not one; "
                                     "run tkksd as '{wanted}' (its own database login).").format(wanted=wanted, base=base))
        raise PermissionDenied(_("TKKSD_USER={wanted} is honoured only for an admin's account, and '{base}' is not one; "
                                 "run tkksd as '{wanted}' (its own OS account).").format(wanted=wanted, base=base))
    row = _user(conn, wanted)
    return Identity(wanted, base, _roles(row), row.opd_code if row else None, False)


def first_identity(conn: sa.Connection | None, environ: Mapping[str, str] | None = None) -> Identity:
    """On a database without users: whoever runs `tkksd init` (and the TKKSD_USER it names)
    becomes its admin."""
    environ = os.environ if environ is None else environ
    base = base_identity(conn) if conn is not None else os_login()
    wanted = environ.get("TKKSD_USER") or ""
    if wanted == SYSTEM:
        raise PermissionDenied(_("No one can act as 'system': it is the daemon's own identity (TKKSD_USER=system is refused)."))
    if wanted:
        check_login(wanted, "TKKSD_USER")
    return Identity(wanted or base, base, frozenset(), None, False)


def _is_empty(conn: sa.Connection) -> bool:
    from engine.store.tables import users

    try:
        with conn.begin_nested():
            return conn.execute(sa.select(users.c.id).limit(1)).first() is None
    except sa.exc.DBAPIError:  # no schema yet
        return True


def require(ident: Identity, level: str, *, empty: bool = False, what: str = "") -> None:
    """Refuse ``ident`` below ``level`` with one sentence naming what is needed."""
    if level == "none":
        return
    if level == "init":
        if empty or ident.holds("admin"):
            return
        raise PermissionDenied(_("Only an admin may run `tkksd init` on a database that has users; '{login}' is not one.")
                               .format(login=ident.login))
    if level == "read":
        if ident.registered or ident.service:
            return
        raise PermissionDenied(
            _("User '{login}' is not registered in tkksd; an admin can add them with `tkksd user add {login} --role ...`.")
            .format(login=ident.login)
        )
    if level == "operate":
        if ident.may_operate():
            return
        # ``what`` is the caller's phrase marked with N_ ("run the daemon"), said in the reader's language.
        raise PermissionDenied(_("Only the secretariat or an admin (or the service account) may {what}; '{login}' is none of them.")
                               .format(what=_(what) if what else _("do this"), login=ident.login))
    raise ValueError(f"unknown access level {level!r}")


def establish(ctx, level: str, *, what: str = "", environ: Mapping[str, str] | None = None) -> Identity:
    """Identify the caller and check ``level`` in one short read transaction."""
    with ctx.engine.connect() as conn:
        with conn.begin():
            empty = _is_empty(conn)
            if empty and level in ("init", "none"):
                return first_identity(conn, environ)
            ident = identify(conn, ctx.settings, environ)
    require(ident, level, empty=empty, what=what)
    return ident


# ------------------------------------------------------------------------- reading by OPD


def reads_all(ctx, ident: Identity) -> bool:
    """Whether ``ident`` reads every agreement (else only those its OPD leads)."""
    if ctx.settings.get("access", "read_all", True):
        return True
    return ident.service or any(ident.holds(r) for r in ("secretariat", "tkksd", "chair"))


def visible_opd(ctx, ident: Identity) -> str | None:
    """None: every agreement; else the only lead OPD ``ident`` may read."""
    if reads_all(ctx, ident):
        return None
    if not ident.opd_code:
        raise PermissionDenied(_("User '{login}' belongs to no OPD, and reading is limited to one's own OPD (access.read_all = false).")
                               .format(login=ident.login))
    return ident.opd_code


def check_agreement_visible(ctx, ident: Identity, lead_opd: str | None, number: str) -> None:
    opd = visible_opd(ctx, ident)
    if opd is not None and lead_opd != opd:
        raise PermissionDenied(_("User '{login}' reads only the agreements of {opd}; {agreement} is led by {lead_opd}.")
                               .format(login=ident.login, opd=opd, agreement=number, lead_opd=lead_opd))


def may_read_mail(conn: sa.Connection, ident: Identity, recipients: list[str]) -> bool:
    """Mail bodies: the secretariat, admins, the service account, and the addressee's OPD."""
    if ident.may_operate():
        return True
    if not ident.opd_code:
        return False
    from engine.store.tables import opds, users

    own = {e.lower() for e in conn.execute(sa.select(opds.c.head_email).where(opds.c.code == ident.opd_code)).scalars() if e}
    own |= {e.lower() for e in conn.execute(sa.select(users.c.email).where(users.c.opd_code == ident.opd_code)).scalars() if e}
    return any(r.lower() in own for r in recipients)
