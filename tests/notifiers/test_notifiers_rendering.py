"""Renderer: every kind in both languages, escaping, overrides, and the date filters."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest
from .samples import NOW, TITLE, context

from notifiers.errors import TemplateError
from notifiers.formatting import tanggal, waktu
from notifiers.rendering import KINDS, PACKAGE_TEMPLATES, Renderer

LANGS = ("id", "en")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_with_a_full_context(renderer, kind, lang):
    out = renderer.render(kind, context(kind, lang))

    assert out.subject.startswith("[TKKSD] ")
    assert "\n" not in out.subject and out.subject == out.subject.strip()
    assert out.text.endswith("\n") and "\n\n\n" not in out.text
    assert out.html.lstrip().startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in out.html
    # The letter is signed by the secretariat and says it is automatic.
    for body in (out.text, out.html):
        assert "kerjasama@kukarkab.go.id" in body and "(0541) 661234" in body
        assert ("dikirim secara otomatis oleh tkksd" if lang == "id" else "sent automatically by tkksd") in body
    if lang == "id":
        assert "Dengan hormat," in out.text and "Yth. " in out.text
    if kind not in ("digest_opd", "digest_chair", "mail_test"):
        assert "KS-2024-0017" in out.subject + out.text
        assert "WITA" in out.text or kind in ("expiry_warning", "expired")


def test_each_kind_has_its_three_templates_in_each_language():
    for lang in LANGS:
        for kind in KINDS:
            for part in ("subject", "txt", "html"):
                assert (PACKAGE_TEMPLATES / lang / f"{kind}.{part}.j2").is_file()


def test_indonesian_text_and_times_are_as_written_in_kukar(renderer):
    out = renderer.render("reminder", context("reminder", "id"))
    assert TITLE in out.text
    assert "20 November 2026 pukul 08.00 WITA" in out.text
    assert "terlambat 9 hari" in out.subject
    assert "menggantikan 3 pengingat sebelumnya" in out.text


def test_reminder_that_is_due_not_overdue(renderer):
    ctx = context("reminder", "id") | {"overdue_days": 0}
    del ctx["folded"]  # optional
    out = renderer.render("reminder", ctx)
    assert "jatuh tempo 20 November 2026" in out.subject
    assert "menggantikan" not in out.text


def test_english_reminder(renderer):
    out = renderer.render("reminder", context("reminder", "en"))
    assert out.subject == "[TKKSD] Reminder: stage Verifikasi & Kajian of KS-2024-0017 is 9 days overdue"
    assert "20 November 2026 at 08:00 WITA" in out.text


def test_empty_digest_says_so(renderer):
    ctx = context("digest_opd", "id") | {"due": [], "overdue": []}
    out = renderer.render("digest_opd", ctx)
    assert "Tidak ada tenggat" in out.text and "Tidak ada tenggat" in out.html


def test_incident_without_agreement(renderer):
    ctx = context("incident", "id") | {"agreement": None}
    out = renderer.render("incident", ctx)
    assert "Otorita Ibu Kota Nusantara" not in out.text and "berkaitan dengan" not in out.text
    del ctx["agreement"]
    assert renderer.render("incident", ctx).text == out.text


def test_html_is_escaped_text_is_not(renderer):
    evil = "<script>alert(1)</script> & Co"
    ctx = context("transition", "id")
    ctx["agreement"] = ctx["agreement"] | {"title": evil, "partner": evil}
    ctx["note"] = evil
    out = renderer.render("transition", ctx)

    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out.html
    assert "&amp;lt;" not in out.html  # escaped once, not twice
    assert evil in out.text


def test_subject_collapses_line_breaks(renderer):
    ctx = context("expired", "id")
    ctx["agreement"] = ctx["agreement"] | {"id": "KS-1\r\nBcc: x@evil.example"}
    out = renderer.render("expired", ctx)
    assert out.subject == "[TKKSD] KS-1 Bcc: x@evil.example telah berakhir pada 28 November 2026"


def test_missing_name_is_a_template_error(renderer):
    ctx = context("reminder", "id")
    del ctx["responsible"]
    with pytest.raises(TemplateError, match="responsible"):
        renderer.render("reminder", ctx)


def test_naive_datetime_is_a_template_error(renderer):
    ctx = context("reminder", "id") | {"due_at": datetime(2026, 11, 20, 8, 0)}
    with pytest.raises(TemplateError, match="no time zone"):
        renderer.render("reminder", ctx)


@pytest.mark.parametrize("kind", ["nope", "../id/reminder", "Reminder"])
def test_unknown_kind(renderer, kind):
    with pytest.raises(TemplateError):
        renderer.render(kind, context("mail_test"))


def test_language_comes_from_the_context_or_the_renderer():
    ctx = context("mail_test", "en")
    del ctx["lang"]
    assert "delivery test" in Renderer(language="en").render("mail_test", ctx).subject
    assert "Uji pengiriman" in Renderer().render("mail_test", ctx).subject


def test_override_folder_wins_and_is_escaped(tmp_path):
    (tmp_path / "id").mkdir()
    (tmp_path / "id" / "mail_test.subject.j2").write_text("Uji dari {{ contact.name }}\n")
    (tmp_path / "id" / "mail_test.html.j2").write_text("<p>{{ recipient.name }}</p>\n")
    renderer = Renderer([tmp_path])
    ctx = context("mail_test", "id")
    ctx["recipient"] = ctx["recipient"] | {"name": "<b>Budi</b>"}
    out = renderer.render("mail_test", ctx)

    assert out.subject == "Uji dari Sekretariat TKKSD (Bagian Kerjasama Setda Kab. Kutai Kartanegara)"
    assert out.html.strip() == "<p>&lt;b&gt;Budi&lt;/b&gt;</p>"
    assert "Yth. <b>Budi</b>" in out.text  # not overridden: the package's template


def test_override_of_the_shared_layout(tmp_path):
    (tmp_path / "_base.html.j2").write_text("<div>{% block content %}{% endblock %}</div>{% block footer %}{% endblock %}")
    out = Renderer([tmp_path]).render("mail_test", context("mail_test", "id"))
    assert out.html.startswith("<div>") and "pesan uji" in out.html


def test_templates_are_compiled_once_and_rendering_stays_cheap(renderer):
    ctx = context("reminder")
    renderer.render("reminder", ctx)
    compiled = renderer._templates("id", "reminder")
    assert renderer.environment.auto_reload is False  # no stat() per render

    started = time.perf_counter()
    for _ in range(200):
        renderer.render("reminder", ctx)
    per_render = (time.perf_counter() - started) / 200

    assert renderer._templates("id", "reminder") is compiled
    assert per_render < 0.002  # ~0.15 ms measured; a loose bound against regressions


def test_unknown_zone_is_a_template_error(renderer):
    with pytest.raises(TemplateError):
        renderer.render("mail_test", context("mail_test") | {"tz": "Mars/Olympus"})


# -- the filters on their own -----------------------------------------------------------------


def test_tanggal():
    assert tanggal(date(2026, 11, 29)) == "29 November 2026"
    assert tanggal(date(2026, 8, 17), "id") == "17 Agustus 2026"
    assert tanggal(date(2026, 8, 17), "en") == "17 August 2026"
    assert tanggal(date(2026, 11, 29), weekday=True) == "Minggu, 29 November 2026"
    # 23.30 UTC on the 28th is already the 29th in Kukar.
    assert tanggal(datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc)) == "29 November 2026"
    assert tanggal(None) == "-"


def test_waktu():
    assert waktu(NOW) == "29 November 2026 pukul 08.00 WITA"
    assert waktu(NOW, "en") == "29 November 2026 at 08:00 WITA"
    assert waktu(NOW, "id", "Asia/Jakarta", "WIB") == "29 November 2026 pukul 07.00 WIB"
    wita = timezone(timedelta(hours=8))
    assert waktu(datetime(2026, 1, 2, 13, 5, tzinfo=wita)) == "2 Januari 2026 pukul 13.05 WITA"
    assert waktu(date(2026, 1, 2)) == "2 Januari 2026"
    with pytest.raises(ValueError):
        waktu(datetime(2026, 1, 2, 13, 5))
