"""Sample notice contexts, complete per templates/CONTEXT.md, for the notifier tests."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

NOW = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)  # 08.00 WITA
TITLE = "Kesepakatan Bersama antara Pemkab Kutai Kartanegara dan Otorita IKN — ketahanan pangan"


def agreement(**overrides: Any) -> dict[str, Any]:
    value = {
        "id": "KS-2024-0017",
        "title": TITLE,
        "partner": "Otorita Ibu Kota Nusantara",
        "partner_type": "Kementerian/Lembaga",
        "workflow": "kerja-sama",
        "workflow_label": "Kerja sama daerah (KB/MoU, PKS)",
        "state": "VERIFIKASI",
        "state_label": "Verifikasi & Kajian",
        "lead_opd": {
            "code": "DISTANAK",
            "name": "Dinas Pertanian dan Peternakan",
            "head_name": "Ir. H. Muhammad Taufik, M.Si.",
            "head_email": "distanak@kukarkab.go.id",
        },
        "ends_on": date(2029, 3, 31),
    }
    value.update(overrides)
    return value


def common(lang: str = "id", **overrides: Any) -> dict[str, Any]:
    value = {
        "lang": lang,
        "tz": "Asia/Makassar",
        "tz_abbr": "WITA",
        "now": NOW,
        "recipient": {
            "name": "Ir. H. Muhammad Taufik, M.Si.",
            "email": "distanak@kukarkab.go.id",
            "role": "Kepala Dinas Pertanian dan Peternakan",
        },
        "contact": {
            "name": "Sekretariat TKKSD (Bagian Kerjasama Setda Kab. Kutai Kartanegara)",
            "email": "kerjasama@kukarkab.go.id",
            "phone": "(0541) 661234",
        },
        "app": {"name": "tkksd", "region": "Kabupaten Kutai Kartanegara"},
    }
    value.update(overrides)
    return value


def item(what: str, due_at: datetime, **agreement_overrides: Any) -> dict[str, Any]:
    return {"agreement": agreement(**agreement_overrides), "what": what, "due_at": due_at}


def context(kind: str, lang: str = "id") -> dict[str, Any]:
    """A full context for ``kind``."""
    due = datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)
    extra: dict[str, Any]
    if kind == "transition":
        extra = {
            "agreement": agreement(),
            "event": {"name": "verify", "label": "Verifikasi selesai"},
            "from_state": {"name": "IDENTIFIKASI", "label": "Identifikasi & Pemetaan"},
            "to_state": {"name": "VERIFIKASI", "label": "Verifikasi & Kajian"},
            "actor": "siti.rahmah (Bagian Kerjasama)",
            "at": NOW,
            "note": "Kajian manfaat-biaya diterima lengkap.",
            "next_events": [
                {"name": "synchronize", "label": "Sinkronisasi", "missing": ["Kajian manfaat-biaya", "Telaah Bappeda"]},
                {"name": "reject", "label": "Tolak usulan", "missing": []},
            ],
        }
    elif kind in ("reminder", "escalation", "contract_due", "contribution_due", "dprd_wait", "kb_decision", "resync_due",
                  "contribution_deadline", "ikn_decision"):
        extra = {
            "integrated_on": date(2025, 11, 28),
            "agreement": agreement(),
            "step": {"name": "VERIFIKASI", "label": "Verifikasi & Kajian"},
            "due_at": due,
            "overdue_days": 9,
            "level": 2,
            "responsible": {"code": "DISTANAK", "name": "Dinas Pertanian dan Peternakan"},
            "folded": 3,
        }
    elif kind == "evaluation_opened":
        extra = {"agreement": agreement(state_label="Monitoring & Evaluasi"), "due_at": due}
    elif kind == "expiry_warning":
        extra = {"agreement": agreement(), "ends_on": date(2027, 2, 27), "days_left": 90}
    elif kind == "expired":
        extra = {"agreement": agreement(state_label="Berakhir"), "ends_on": date(2026, 11, 28)}
    elif kind == "kb_followup":
        extra = {"agreement": agreement(), "integrated_on": date(2025, 11, 28), "due_at": due}
    elif kind == "kb_followup_overdue":
        extra = {"agreement": agreement(), "integrated_on": date(2024, 11, 28), "due_at": due, "overdue_days": 9,
                 "folded": 0}
    elif kind == "digest_opd":
        extra = {
            "period": {"start": date(2026, 11, 23), "end": date(2026, 11, 29)},
            "due": [item("Sinkronisasi dengan RPJMD", NOW)],
            "overdue": [item("Verifikasi & Kajian", due, id="KS-2025-0003", title="PKS pengelolaan pasar")],
        }
    elif kind == "digest_chair":
        extra = {
            "period": {"start": date(2026, 11, 1), "end": date(2026, 11, 30)},
            "counts": {"Berjalan": 41, "Dalam proses": 12, "Terlambat": 3, "Menggantung": 1},
            "due": [item("Evaluasi berkala", NOW)],
            "overdue": [item("Verifikasi & Kajian", due)],
            "hanging": [item("KB tanpa PKS sejak 12 bulan", due, id="KS-2023-0100")],
            "incidents": [
                {
                    "message_id": "<outbox-77.tkksd@kukarkab.go.id>",
                    "recipient": "dispar@kukarkab.go.id",
                    "error": "The SMTP server smtp.kukarkab.go.id replied 550 mailbox unavailable.",
                    "at": NOW,
                }
            ],
        }
    elif kind == "incident":
        extra = {
            "message": {
                "message_id": "<outbox-77.tkksd@kukarkab.go.id>",
                "subject": "[TKKSD] Pengingat: tahap Verifikasi & Kajian KS-2024-0017 terlambat 9 hari",
                "to": ["dispar@kukarkab.go.id"],
            },
            "error": "The SMTP server smtp.kukarkab.go.id replied 550 mailbox unavailable.",
            "attempts": 1,
            "agreement": agreement(),
        }
    elif kind == "mail_outage":
        extra = {
            "server": "server SMTP smtp.kukarkab.go.id:587 (starttls)",
            "since": NOW, "until": NOW, "total": 74,
            "messages": [{"message_id": "<outbox-77.tkksd@kukarkab.go.id>", "agreement": "KS-2024-0017",
                          "subject": "[TKKSD] Pengingat: tahap Verifikasi & Kajian KS-2024-0017 terlambat 9 hari",
                          "to": ["dispar@kukarkab.go.id"]}],
        }
    elif kind == "mail_test":
        extra = {}
    elif kind in ("evaluation_round", "evaluation_round_escalation"):  # issue 16
        one = {"id": "KS-2024-0017", "title": TITLE, "partner": "Otorita IKN", "state_label": "Dievaluasi"}
        rnd = {"number": "EV-2026-01", "title": "Evaluasi kerja sama 2026", "due_at": due}
        extra = {"round": rnd, "stage": "letter", "items": [one], "opd": {"code": "DISTANAK", "name": "Dinas Pertanian dan Peternakan"},
                 "late": [{"opd": {"code": "DISTANAK", "name": "Dinas Pertanian dan Peternakan"}, "pending": [one]}]}
    else:
        raise KeyError(kind)
    return common(lang, **extra)
