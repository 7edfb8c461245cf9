"""Who may act and read (issue 17.2 and 17.3): the identity is the OS account (SQLite) or the
database login (PostgreSQL); TKKSD_USER is honoured only for an admin or the data's owner and
never for 'system'; unregistered logins run --help and nothing else; mail bodies only for the
secretariat, admins and the addressee's OPD; doctor --fix, daemon and outbox retry need the
secretariat or the service account; login names follow a pattern of at most 64 characters."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from engine.lifecycle import access
from engine.errors import InvalidInput, PermissionDenied
from engine.lifecycle.services import add_user, create_agreement, fire
from engine.mail.outbox import list_rows, show_row
from engine.store import db
from engine.store.tables import history
from tests.conftest import PG_ADMIN_URL, Cli, _psycopg_dsn
from tests.helpers import KS_STEPS

READS = [("list",), ("show", "{ref}"), ("history", "{ref}"), ("events", "{ref}"), ("export", "x.csv"),
         ("report",), ("outbox", "list"), ("outbox", "show", "{mail}"), ("status",), ("due",), ("doctor",),
         ("calendar", "--output", "c.ics"), ("audit", "verify")]
OPERATE = [("doctor", "--fix"), ("daemon", "--once"), ("outbox", "retry", "{mail}")]


@pytest.fixture
def people(ctx):
    add_user(ctx, "admin", "sari", "Sari", ["secretariat"], None)
    add_user(ctx, "admin", "budi", "Budi", ["opd"], "DKP")
    add_user(ctx, "admin", "dina", "Dina", ["opd"], "DISHUB")
    ref = create_agreement(ctx, "admin", title="KB Pangan", partner="Otorita IKN", opd="DKP", values={"document_kind": "KB"})["id"]
    other = create_agreement(ctx, "admin", title="KB Jalan", partner="Kota Balikpapan", opd="DISHUB", values={"document_kind": "KB"})["id"]
    role, values = KS_STEPS["identify"]
    fire(ctx, "admin", ref, "identify", values=values)
    mails = [r for r in list_rows(ctx, status=None, limit=100) if r["agreement"] == ref]
    assert mails, "a transition of a DKP agreement mails someone"
    return {"ref": ref, "other": other, "mail": str(mails[0]["id"])}


def _args(template, people):
    return [a.format(**people) for a in template]


def test_an_unregistered_login_runs_help_and_nothing_else(cli, people, tmp_path):
    assert cli("--help", user="nobody").returncode == 0
    before = cli("export", "before.csv").stdout
    for template in READS + OPERATE + [("init",)]:
        r = cli(*_args(template, people), user="nobody", check=False)
        assert r.returncode == 4, (template, r.returncode, r.stderr)
        assert "nobody" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "c.ics").exists()
    assert "Hanya admin yang boleh menjalankan `tkksd init`" in cli("init", user="nobody", check=False).stderr
    assert before


def test_no_one_can_act_as_system(cli, people, ctx):
    r = cli("fire", people["ref"], "withdraw", "--note", "x", user="system", check=False)
    assert r.returncode == 4 and "Tidak seorang pun dapat bertindak sebagai 'system'" in r.stderr
    with db.read(ctx.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(history).where(history.c.actor == "system")).scalar() == 0


def test_login_names_have_a_pattern_and_a_length(cli, people):
    for bad in ("x" * 65, "x" * 5000, "-rm", "a b", "süß"):
        r = cli("list", user=bad, check=False)
        assert r.returncode == 2 and "tidak sah" in r.stderr, (bad[:10], r.stderr)
        r = cli("user", "add", bad, "--role", "tkksd", check=False)
        assert r.returncode == 2, (bad[:10], r.stderr)
    assert cli("list", user="x" * 64, check=False).returncode == 4  # valid, but not registered


def test_mail_bodies_for_the_secretariat_admins_and_the_addressees_opd(cli, people, ctx):
    mail = people["mail"]
    row = show_row(ctx, int(mail))
    recipients = row["to"] + row["cc"]
    assert cli("outbox", "show", mail, user="sari").returncode == 0
    assert cli("outbox", "show", mail, user="admin").returncode == 0
    dkp_mail = any("dkp" in r.lower() for r in recipients)
    r = cli("outbox", "show", mail, user="budi", check=False)
    assert r.returncode == (0 if dkp_mail else 4), (recipients, r.stderr)
    r = cli("outbox", "show", mail, user="dina", check=False)
    assert r.returncode == 4 and "OPD lain" in r.stderr


def test_operating_needs_the_secretariat(cli, people):
    for template in OPERATE:
        r = cli(*_args(template, people), user="budi", check=False)
        assert r.returncode == 4 and "Hanya sekretariat atau admin" in r.stderr, (template, r.stderr)
    assert cli("doctor", "--fix", user="sari", check=False).returncode in (0, 1)
    assert cli("outbox", "retry", people["mail"], user="sari", check=False).returncode in (0, 2)


def test_reading_limited_to_ones_opd(cli, people, tmp_path):
    conf = tmp_path / "limited.toml"
    conf.write_text("[access]\nread_all = false\n")
    limited = {"TKKSD_CONFIG": str(conf)}
    rows = cli("list", "--json", user="budi", extra_env=limited).json()
    assert rows and {r["lead_opd"] for r in rows} == {"DKP"}
    r = cli("show", people["other"], user="budi", extra_env=limited, check=False)
    assert r.returncode == 4 and "hanya dapat membaca kerja sama DKP" in r.stderr
    assert cli("list", "--opd", "DISHUB", user="budi", extra_env=limited, check=False).returncode == 4
    assert cli("report", user="budi", extra_env=limited, check=False).returncode == 4
    assert len(cli("list", "--json", user="sari", extra_env=limited).json()) == 2


def test_tkksd_user_is_honoured_only_for_an_admin_or_the_owner(ctx, people, monkeypatch):
    env = {"TKKSD_USER": "sari"}
    with ctx.engine.connect() as conn:
        # The owner of the database file (the account running the tests) may act as anyone.
        assert access.identify(conn, ctx.settings, env).login == "sari"
        monkeypatch.setattr(access, "owns_the_data", lambda conn: False)
        monkeypatch.setattr(access, "os_login", lambda: "budi")
        if conn.dialect.name == "sqlite":
            with pytest.raises(PermissionDenied, match="hanya berlaku untuk akun admin"):
                access.identify(conn, ctx.settings, env)
            monkeypatch.setattr(access, "os_login", lambda: "admin")
            assert access.identify(conn, ctx.settings, env).login == "sari"
        with pytest.raises(PermissionDenied, match="system"):
            access.identify(conn, ctx.settings, {"TKKSD_USER": "system"})
        with pytest.raises(InvalidInput):
            access.identify(conn, ctx.settings, {"TKKSD_USER": "x" * 65})


@pytest.mark.postgres
def test_a_coordinators_database_role_cannot_fire_as_another_user(pg_database, tmp_path):
    """On PostgreSQL the database login is the identity: rina's role cannot act as sari (nor as
    admin or system) whatever TKKSD_USER says, and acts as herself without it."""
    import psycopg

    from engine.bootstrap import bootstrap
    from tests.conftest import init_database, make_env

    env = make_env(tmp_path, pg_database)
    init_database(env)
    suffix = uuid.uuid4().hex[:8]
    rina, sari = f"rina_{suffix}", f"sari_{suffix}"
    dbname = pg_database.rsplit("/", 1)[1]
    admin_dsn = _psycopg_dsn(PG_ADMIN_URL)
    db_dsn = admin_dsn.rsplit("/", 1)[0] + "/" + dbname
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for role in (rina, sari):
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            for role in (rina, sari):  # the grants docs/postgresql.md documents for coordinators
                conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
                conn.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        ctx = bootstrap(env)
        add_user(ctx, "admin", rina, "Rina (Bappeda)", ["tkksd"], None)
        add_user(ctx, "admin", sari, "Sari (Bagian Kerjasama)", ["secretariat"], None)
        ref = create_agreement(ctx, "admin", title="KB Pangan", partner="Otorita IKN", opd="DKP", values={"document_kind": "KB"})["id"]
        ctx.engine.dispose()
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgres@", f"{rina}@")
        as_rina = Cli({**env, "TKKSD_DATABASE_URL": f"{base}/{dbname}"}, tmp_path)
        _, values = KS_STEPS["identify"]
        sets = [x for k, v in values.items() for x in ("--set", f"{k}={v}")]
        for pretend in (sari, "admin", "system"):
            r = as_rina("fire", ref, "identify", *sets, user=pretend, check=False)
            assert r.returncode == 4, (pretend, r.stderr)
        assert f"'{rina}' bukan admin" in as_rina("fire", ref, "identify", *sets, user=sari, check=False).stderr
        # as herself (no TKKSD_USER): she is tkksd, identify needs the secretariat
        env_self = {k: v for k, v in as_rina.env.items() if k != "TKKSD_USER"}
        r = Cli(env_self, tmp_path)("fire", ref, "identify", *sets, check=False)
        assert r.returncode == 4 and f"Pengguna '{rina}' tidak boleh melakukan 'identify'" in r.stderr, r.stderr
        as_sari = Cli({**env_self, "TKKSD_DATABASE_URL": f"{base.replace(rina, sari)}/{dbname}"}, tmp_path)
        assert as_sari("fire", ref, "identify", *sets).returncode == 0
        hist = as_sari("history", ref, "--json").json()
        assert hist[-1]["actor"] == sari and hist[-1]["kind"] == "human"
    finally:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            for role in (rina, sari):
                conn.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for role in (rina, sari):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_timed_events_carry_the_daemons_host_and_process(cli, ctx):
    import socket

    from tests.helpers import add_service, walk_service

    ref = add_service(ctx)
    walk_service(ctx, ref, "integrated", sign={"signed_on": "2026-01-15", "ends_on": "2027-01-15"})
    cli("daemon", "--once", now="2027-02-01T09:00", check=False)
    rows = [h for h in cli("history", ref, "--json").json() if h["kind"] == "system"]
    assert rows and all(h["actor"] == "system" for h in rows)
    assert all(f"on {socket.gethostname()} pid " in h["note"] for h in rows), rows
