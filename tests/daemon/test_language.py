"""The time and mail commands as people read them (issue 13): Indonesian by default, English with
TKKSD_LANGUAGE=en, times in WITA (never ISO-8601 or UTC on screen), labels instead of codes."""

from __future__ import annotations

import re

from tests.helpers import add_service, walk_service

from .conftest import ctx_at, day, signing

# What a machine time looks like: it must not reach a person's screen.
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\+00:00|\bUTC\b")
CODES = ("expiry_warning", "periodic_evaluation", "step_sla", "kb_followup", "lead_opd_head", "(+")
EN = {"id": {}, "en": {"TKKSD_LANGUAGE": "en"}}


def _screen(result) -> str:
    return result.stdout + result.stderr


def _agreements(ctx):
    c = ctx_at(ctx, day(0))
    proposed = add_service(c, title="Usulan kerja sama pangan", document_kind="PKS")
    running = add_service(c, title="PKS berjalan dengan mitra", document_kind="PKS")
    walk_service(c, running, "integrated", **signing(120))
    return proposed, running


def test_the_daemon_says_where_it_works_and_sums_up_its_pass_in_the_readers_language(cli, ctx):
    _agreements(ctx)
    first = cli("daemon", "--once", now=day(60))
    block = first.stderr
    for word in ("Basis data", "Surel", "Jam", "Alur kerja", "kerja-sama v1", "WITA", "Maildir"):
        assert word in block, word
    assert "Asia/Makassar" in block and "ditetapkan oleh TKKSD_NOW" in block
    # One summary line: how far it caught up, what happened, how many mails and where they went.
    (summary,) = first.stdout.splitlines()
    assert re.match(r"menyusul \d+ (hari|bulan): \d+ peristiwa, \d+ surel di \S+/mail/new \(dijalankan", summary), summary
    assert not ISO_TIME.search(_screen(first))
    # One log line per pass and job, not one per deadline (those are for --log-level debug).
    assert not re.search(r"tenggat \d+ KS-", block)
    debug = cli("daemon", "--once", "--log-level", "debug", now=day(61))
    assert "satu putaran" in debug.stdout

    english = cli("daemon", "--once", now=day(130), extra_env=EN["en"])
    for word in ("Database", "Mail", "Clock", "Workflows", "WITA"):
        assert word in english.stderr, word
    assert re.match(r"(caught up \d+ (days|months)|one pass): \d+ events, \d+ e-mails in ", english.stdout), english.stdout
    assert "surel" not in english.stdout and not ISO_TIME.search(_screen(english))


def test_status_doctor_due_and_simulate_speak_indonesian_with_labels_and_wita(cli, ctx):
    proposed, running = _agreements(ctx)
    cli("daemon", "--once", now=day(20))
    status = cli("status", now=day(30))
    assert "putaran terakhir" in status.stdout and "tenggat:" in status.stdout and "kotak keluar: terkirim" in status.stdout
    doctor = cli("doctor", now=day(30))
    assert "peringatan: 2 tenggat jatuh tempo tetapi tidak ada putaran daemon sejak 22 Mar 2026 09.00 WITA" in doctor.stdout
    assert "Baik: 2 kerja sama" in doctor.stdout and "tidak ada yang menggantung" in doctor.stdout
    due = cli("due", "--within", "120d", now=day(30))
    assert "JATUH TEMPO" in due.stdout and "PERIHAL" in due.stdout
    assert "Peringatan: masa berlaku berakhir" in due.stdout  # a label, not `Tanggal berakhir expiry_warning`
    assert re.search(r"terlambat \d+ hari", due.stdout) and re.search(r"dalam \d+ hari", due.stdout)
    simulate = cli("simulate", "--until", day(130)[:10], now=day(30))
    assert "tidak ada yang ditulis" in simulate.stdout and "Masa berlaku berakhir" in simulate.stdout
    assert "Berakhir" in simulate.stdout or "berakhir" in simulate.stdout
    for result in (status, doctor, due, simulate):
        screen = _screen(result)
        assert not ISO_TIME.search(screen), screen
        assert not any(code in screen for code in CODES), screen

    english = {name: cli(*args, now=day(30), extra_env=EN["en"]) for name, args in (
        ("status", ("status",)), ("due", ("due", "--within", "120d")),
        ("simulate", ("simulate", "--until", day(130)[:10])))}
    assert "last pass" in english["status"].stdout and "DUE (WITA)" in english["due"].stdout
    assert re.search(r"\d+ days late", english["due"].stdout) and "nothing was written" in english["simulate"].stdout
    for result in english.values():
        assert not ISO_TIME.search(_screen(result))
        assert "terlambat" not in result.stdout and "tenggat" not in result.stdout


def test_outbox_list_shows_a_footer_when_rows_are_left_out_and_all_with_all(cli, ctx):
    _agreements(ctx)
    cli("daemon", "--once", now=day(20))
    total = len(cli("outbox", "list", "--json", "--all").json())
    assert total > 2
    some = cli("outbox", "list", "--limit", "2", now=day(20))
    assert len([line for line in some.stdout.splitlines()[1:] if line.strip()]) == 2
    assert some.stderr.strip() == f"2 dari {total}; --all untuk semua"
    every = cli("outbox", "list", "--all", now=day(20))
    assert every.stderr == "" and "terkirim" in every.stdout and "pengingat" in every.stdout
    assert "SUBJECT" not in every.stdout and "PERIHAL" in every.stdout and not ISO_TIME.search(_screen(every))
    shown = cli("outbox", "show", str(cli("outbox", "list", "--json").json()[0]["id"]), now=day(20)).stdout
    assert "Perihal:" in shown and "WITA" in shown and not ISO_TIME.search(shown.split("\n\n")[0])
    english = cli("outbox", "list", "--limit", "2", now=day(20), extra_env=EN["en"])
    assert "SUBJECT" in english.stdout and english.stderr.strip() == f"2 of {total}; --all for all"


def test_the_chair_digest_gives_what_hangs_its_real_due_date(cli, ctx):
    """Issue 14's leftover: a hanging item's "batas" is the date its step was due, not the first
    of the month the digest covers."""
    from engine.i18n import day as long_day
    from engine.lifecycle.hanging import find

    from .conftest import outbox_rows

    c = ctx_at(ctx, day(0))
    stuck = add_service(c, title="Usulan yang tertahan", document_kind="PKS")
    at = ctx_at(ctx, day(60))  # 1 May 2026, 09:00: the month's chair digest is due
    with at.engine.connect() as conn:
        (hanging,) = [h for h in find(conn, at) if h.number == stuck]
    due_on = min(r.due_on for r in hanging.reasons if r.due_on is not None)
    cli("daemon", "--once", now=day(60))
    (digest,) = outbox_rows(ctx, kind="digest_chair")
    hanging_part = digest.text_body.split("KERJA SAMA MENGGANTUNG", 1)[1]
    line = next(line for line in hanging_part.splitlines() if stuck in line)
    assert f"(batas {long_day(due_on, 'id')})" in line, line
    assert "(batas 1 Mei 2026)" not in line and "Tertahan di tahap Usulan" in line
