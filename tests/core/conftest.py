"""Fixtures for the engine-core tests: a small valid workflow definition to break on purpose,
the users of each role, and a SQLite-only CLI for tests that edit the database file by hand."""

from __future__ import annotations

import copy
import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Cli, init_database, make_env

# The users every integration test can act as (login -> roles, OPD).
USERS = {
    "sari": (["secretariat"], None),
    "rina": (["tkksd"], None),
    "sekda": (["chair"], None),
    "budi": (["opd"], "DKP"),
    "joko": (["opd"], "DISHUB"),
}

MINI = {
    "name": "mini",
    "version": 1,
    "initial": "draft",
    "id_prefix": "MN",
    "label": {"id": "Mini", "en": "Mini"},
    "states": [
        {"name": "draft", "label": {"id": "Draf", "en": "Draft"}},
        {"name": "checked", "label": {"id": "Diperiksa", "en": "Checked"}},
        {"name": "done", "label": {"id": "Selesai", "en": "Done"}, "final": True},
        {"name": "dropped", "label": {"id": "Batal", "en": "Dropped"}, "final": True},
    ],
    "fields": [
        {"key": "title", "type": "text", "label": {"id": "Judul", "en": "Title"}},
        {"key": "partner", "type": "text", "label": {"id": "Mitra", "en": "Partner"}},
        {"key": "lead_opd", "type": "opd", "label": {"id": "OPD", "en": "Lead OPD"}},
        {"key": "kind", "type": "choice", "label": {"id": "Jenis", "en": "Kind"}, "choices": ["KB", "PKS"]},
        {"key": "ok", "type": "bool", "confirm": True, "label": {"id": "Oke", "en": "Confirmed"}},
        {"key": "starts_on", "type": "date", "label": {"id": "Mulai", "en": "Start"}},
        {"key": "ends_on", "type": "date", "label": {"id": "Akhir", "en": "End"}},
        {"key": "amount", "type": "number", "label": {"id": "Nilai", "en": "Amount"}},
        {"key": "ref", "type": "reference", "label": {"id": "Nomor", "en": "Reference"}},
        {"key": "reason", "type": "text", "label": {"id": "Alasan", "en": "Reason"}},
    ],
    "events": [
        {"name": "check", "from": ["draft"], "to": "checked", "roles": ["secretariat"],
         "requires": ["kind", "ok", {"key": "ref", "when": {"key": "kind", "eq": "PKS"}}]},
        {"name": "finish", "from": ["checked"], "to": "done", "roles": ["tkksd"],
         "requires": ["starts_on", "ends_on"],
         "rules": [{"rule": "not_future", "key": "starts_on"}, {"rule": "after", "key": "ends_on", "other": "starts_on"}]},
        {"name": "drop", "from": ["draft", "checked"], "to": "dropped", "roles": ["chair", "opd", "system"],
         "requires": [{"key": "reason", "fresh": True}]},
    ],
    "deadlines": [
        {"name": "sla", "action": "notify", "template": "reminder", "states": ["draft", "checked"], "days": 14,
         "notify": ["lead_opd_head"]},
        {"name": "auto_drop", "action": "fire", "event": "drop", "states": ["checked"], "days": 30},
    ],
    "note_field": "reason",
}


@pytest.fixture
def mini():
    """A fresh deep copy of a small valid definition (plain data), to break in one place."""
    return copy.deepcopy(MINI)


def add_users(ctx) -> None:
    from engine.lifecycle.services import add_user

    for login, (roles, opd) in USERS.items():
        add_user(ctx, "admin", login, login.title(), roles, opd)


@pytest.fixture
def english(monkeypatch):
    """The engine speaking English in this process (as with TKKSD_LANGUAGE=en), for tests that read
    the services' sentences in English; the CLI tests read them in Indonesian, the default."""
    from engine import i18n

    monkeypatch.setenv("LANGUAGE", os.environ.get("LANGUAGE", ""))  # i18n.use sets it; restored afterwards
    i18n.use("en")
    yield
    i18n.use(i18n.DEFAULT_LANGUAGE)


@pytest.fixture
def people(ctx):
    """``ctx`` with the users of USERS registered."""
    add_users(ctx)
    return ctx


@pytest.fixture
def sqlite_env(tmp_path, sqlite_url, monkeypatch):
    """Like ``env`` but always SQLite: for tests that edit the database file by hand."""
    monkeypatch.chdir(tmp_path)
    e = make_env(tmp_path, sqlite_url)
    init_database(e)
    return e


@pytest.fixture
def sqlite_cli(sqlite_env, tmp_path):
    return Cli(sqlite_env, tmp_path)


def sqlite_path(env: dict) -> Path:
    return Path(env["TKKSD_DATABASE_URL"].split("///", 1)[1])


def sqlite_connect(env: dict) -> sqlite3.Connection:
    return sqlite3.connect(sqlite_path(env), isolation_level=None)
