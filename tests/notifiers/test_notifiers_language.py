"""The notifiers' sentences (configuration errors, delivery errors that end up in the outbox and
in incidents) follow the language the engine chose: Indonesian by default, English with
TKKSD_LANGUAGE=en. ``notifiers`` may not import the engine; it marks its sentences with the
standard gettext, which ``engine.i18n.use`` binds. Each language runs in a process of its own,
as the CLI and the daemon do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import free_port

ROOT = Path(__file__).resolve().parents[2]

# What an operator sees from the notifiers, made the way the CLI makes it: the language first,
# from TKKSD_LANGUAGE, then the sentences.
SCRIPT = r"""
import asyncio, json, os, sys
from engine import i18n
i18n.use(os.environ.get("TKKSD_LANGUAGE") or i18n.DEFAULT_LANGUAGE)
from notifiers import ConfigurationError, MaildirTransport, Message, SmtpTransport, make_transport

said = {}
try:
    make_transport("pigeon")
except ConfigurationError as exc:
    said["unknown"] = str(exc)
try:
    SmtpTransport("127.0.0.1", security="none", username="tkksd", password="x")
except ConfigurationError as exc:
    said["plaintext"] = str(exc)

def message(n, to="kerjasama@kukarkab.go.id"):
    return Message(message_id=f"<outbox-{n}.tkksd@kukarkab.go.id>", sender="tkksd@kukarkab.go.id",
                   to=(to,), subject="Uji", text="Uji", html="<p>Uji</p>")

smtp = SmtpTransport("127.0.0.1", int(sys.argv[1]), security="none", connect_timeout=2.0, concurrency=1,
                     breaker_after=2)
outcomes = asyncio.run(smtp.deliver([message(1), message(2), message(3), message(4, to="a@b.id\r\nX: y")]))
said["errors"] = [o.error for o in outcomes]
print(json.dumps(said))
"""


def said(language: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TKKSD_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    if language:
        env["TKKSD_LANGUAGE"] = language
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(free_port())], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("language", [None, "id"])
def test_notifier_sentences_are_indonesian_by_default(language):
    out = said(language)
    assert out["unknown"] == "Transport surel 'pigeon' tidak dikenal; pilih salah satu dari 'maildir', 'smtp', 'memory'."
    assert out["plaintext"].startswith("Kata sandi SMTP tidak dikirim melalui sambungan tanpa enkripsi")
    connect, second, untried, bad = out["errors"]
    assert connect.startswith("Tidak dapat terhubung ke server SMTP 127.0.0.1:") and second.startswith("Tidak dapat terhubung")
    # The circuit breaker's sentence, which the outage's one incident and letter quote.
    assert untried.startswith("Tidak dicoba: server SMTP 127.0.0.1:") and "tidak dapat dihubungi 2 kali berturut-turut (" in untried
    assert bad.startswith("Alamat To ") and "mengandung pemisah baris atau karakter kendali lain." in bad
    assert not any(word in " ".join(out["errors"]) for word in ("Could not", "Not tried", "The SMTP", "The To"))


def test_notifier_sentences_are_english_on_request():
    out = said("EN")
    assert out["unknown"] == "Unknown mail transport 'pigeon'; choose one of 'maildir', 'smtp', 'memory'."
    assert out["plaintext"].startswith("Refusing to send an SMTP password over an unencrypted connection")
    connect, _second, untried, bad = out["errors"]
    assert connect.startswith("Could not connect to the SMTP server 127.0.0.1:")
    assert untried.startswith("Not tried: the SMTP server 127.0.0.1:") and "could not be reached 2 times in a row (" in untried
    assert bad.startswith("The To address ") and "contains a line break or another control character." in bad
