"""Maildir and recording transports, the lazy factory, and the package's import hygiene."""

from __future__ import annotations

import ast
import asyncio
import mailbox
import subprocess
import sys
from email.policy import default as default_policy
from pathlib import Path

import pytest
from .samples import TITLE

import notifiers
from notifiers.base import Message, Outcome
from notifiers.errors import ConfigurationError
from notifiers.maildir import MaildirTransport
from notifiers.memory import RecordingTransport

PACKAGE = Path(notifiers.__file__).parent
PROJECT = PACKAGE.parent


def message(n: int = 1, **overrides) -> Message:
    values = {
        "message_id": f"<outbox-{n}.tkksd@kukarkab.go.id>",
        "sender": "TKKSD Kukar <tkksd@kukarkab.go.id>",
        "to": ("distanak@kukarkab.go.id",),
        "subject": f"[TKKSD] {n}: {TITLE}",
        "text": f"Dengan hormat,\n{TITLE}\n",
        "html": f"<p>{TITLE}</p>",
    }
    values.update(overrides)
    return Message(**values)


# -- Maildir ----------------------------------------------------------------------------------


def test_maildir_round_trip(tmp_path):
    box_path = tmp_path / "var" / "mail"
    transport = MaildirTransport(box_path)
    assert not box_path.exists()  # nothing happens before the first delivery

    outcomes = asyncio.run(transport.deliver([message(1), message(2, to=("x\r\n@evil",)), message(3)]))
    assert [o.status for o in outcomes] == ["sent", "failed", "sent"]

    box = mailbox.Maildir(box_path, factory=None, create=False)
    got = {m["Message-ID"]: m for m in box}
    assert set(got) == {"<outbox-1.tkksd@kukarkab.go.id>", "<outbox-3.tkksd@kukarkab.go.id>"}
    assert list((box_path / "tmp").iterdir()) == []  # written atomically: nothing left behind
    assert len(list((box_path / "new").iterdir())) == 2

    import email

    parsed = email.message_from_bytes(got["<outbox-1.tkksd@kukarkab.go.id>"].as_bytes(), policy=default_policy)
    assert parsed["Subject"] == f"[TKKSD] 1: {TITLE}"
    assert parsed.get_content_type() == "multipart/alternative"
    assert TITLE in parsed.get_body(("plain",)).get_content()


def test_maildir_write_failure_is_retry(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the Maildir should be")
    [outcome] = asyncio.run(MaildirTransport(blocker).deliver([message(1)]))
    assert outcome.status == "retry" and "Maildir" in outcome.error


# -- RecordingTransport -----------------------------------------------------------------------


def test_recording_transport():
    transport = RecordingTransport()
    transport.fail_next("retry", "Server busy.", code=451)

    first = asyncio.run(transport.deliver([message(1), message(2)]))
    assert [o.status for o in first] == ["retry", "sent"]
    assert first[0].code == 451
    assert [m.message_id for m in transport.sent] == ["<outbox-2.tkksd@kukarkab.go.id>"]
    assert transport.emails[0]["Message-ID"] == "<outbox-2.tkksd@kukarkab.go.id>"

    scripted = RecordingTransport(script=lambda m: Outcome(m.message_id, "failed", error="Rejected."))
    [out] = asyncio.run(scripted.deliver([message(3)]))
    assert out.status == "failed" and scripted.sent == []

    asyncio.run(transport.aclose())
    assert transport.closed


# -- factory and hygiene ----------------------------------------------------------------------


def test_make_transport(tmp_path):
    assert isinstance(notifiers.make_transport("maildir", path=tmp_path), MaildirTransport)
    assert isinstance(notifiers.make_transport("memory"), RecordingTransport)
    smtp = notifiers.make_transport("smtp", host="smtp.kukarkab.go.id", password=None)
    assert type(smtp).__name__ == "SmtpTransport" and smtp.port == 587
    with pytest.raises(ConfigurationError, match="Unknown mail transport"):
        notifiers.make_transport("pigeon")
    with pytest.raises(ConfigurationError, match="Wrong options"):
        notifiers.make_transport("maildir", folder=tmp_path)


def test_importing_notifiers_loads_neither_jinja2_nor_aiosmtplib():
    code = (
        "import sys, notifiers, notifiers.base, notifiers.maildir, notifiers.memory;"
        "notifiers.Message; notifiers.make_transport('memory');"
        "heavy = [m for m in ('jinja2', 'aiosmtplib') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT, check=True)


def test_notifiers_imports_nothing_of_the_project():
    forbidden = {"engine", "config", "workflows"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
