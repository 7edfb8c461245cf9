"""Labels a reader sees in the report, the spreadsheet and the letters, in Indonesian and English.

The workflow definitions label states, events and fields, but not the choices of a choice
field (``partner_type = "university"``); those labels live here, so no document prints a code.
"""

from __future__ import annotations

from typing import Mapping

CHOICE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "partner_type": {
        "id": {"region": "Pemerintah daerah", "ministry_agency": "Kementerian/lembaga", "otorita_ikn": "Otorita IKN",
               "bumn_bumd": "BUMN/BUMD", "company": "Badan usaha swasta", "university": "Perguruan tinggi",
               "ngo": "Organisasi kemasyarakatan", "foreign": "Luar negeri", "cooperative": "Koperasi",
               "individual": "Perorangan", "antar_desa": "Desa lain (antardesa)", "pihak_ketiga": "Pihak ketiga",
               "": "(jenis mitra belum diisi)"},
        "en": {"region": "Regional government", "ministry_agency": "Ministry/agency", "otorita_ikn": "IKN Authority",
               "bumn_bumd": "State/regional enterprise", "company": "Private company", "university": "University",
               "ngo": "Civil society organisation", "foreign": "Foreign partner", "cooperative": "Cooperative",
               "individual": "Individual", "antar_desa": "Another village", "pihak_ketiga": "Third party",
               "": "(partner type not set)"},
    },
    "category": {
        "id": {"KSDD": "KS Daerah dengan Daerah Lain (KSDD)", "KSDPK": "KS Daerah dengan Pihak Ketiga (KSDPK)",
               "KSDPL": "KS dengan Pemda Luar Negeri (KSDPL)", "KSDLL": "KS dengan Lembaga Luar Negeri (KSDLL)",
               "SINERGI_IKN": "Sinergi dengan Otorita IKN", "KS_DESA": "Kerja Sama Desa", "": "(kategori belum diisi)"},
        "en": {"KSDD": "With other regions (KSDD)", "KSDPK": "With third parties (KSDPK)",
               "KSDPL": "With foreign local governments (KSDPL)", "KSDLL": "With foreign institutions (KSDLL)",
               "SINERGI_IKN": "Synergy with the IKN Authority", "KS_DESA": "Village cooperation", "": "(category not set)"},
    },
    # The urusan (government affairs) of the field ``field``, as the OPD directory names them.
    "field": {
        "id": {"education": "Pendidikan", "health": "Kesehatan", "public_works": "Pekerjaan umum dan penataan ruang",
               "housing": "Perumahan rakyat dan kawasan permukiman", "public_order": "Ketenteraman dan ketertiban umum",
               "social": "Sosial", "manpower": "Tenaga kerja", "women_children": "Pemberdayaan perempuan dan perlindungan anak",
               "food_security": "Pangan", "land": "Pertanahan", "environment": "Lingkungan hidup",
               "population_admin": "Administrasi kependudukan dan pencatatan sipil",
               "village_empowerment": "Pemberdayaan masyarakat dan desa", "transport": "Perhubungan",
               "communication": "Komunikasi dan informatika", "cooperatives_smes": "Koperasi, usaha kecil dan menengah",
               "investment": "Penanaman modal", "youth_sports": "Kepemudaan dan olahraga", "culture": "Kebudayaan",
               "libraries_archives": "Perpustakaan dan kearsipan", "tourism": "Pariwisata", "agriculture": "Pertanian",
               "plantation": "Perkebunan", "marine_fisheries": "Kelautan dan perikanan", "trade": "Perdagangan",
               "industry": "Perindustrian", "energy": "Energi dan sumber daya mineral", "clean_water": "Air minum",
               "law": "Hukum", "governance": "Pemerintahan umum", "regional_assets": "Pengelolaan barang milik daerah",
               "village_governance": "Penyelenggaraan pemerintahan desa", "development": "Pembangunan desa",
               "community": "Pembinaan kemasyarakatan desa", "empowerment": "Pemberdayaan masyarakat desa",
               "bumdes": "BUMDes"},
        "en": {"education": "Education", "health": "Health", "public_works": "Public works and spatial planning",
               "housing": "Housing and settlements", "public_order": "Public order", "social": "Social affairs",
               "manpower": "Manpower", "women_children": "Women's empowerment and child protection",
               "food_security": "Food", "land": "Land", "environment": "Environment",
               "population_admin": "Population administration and civil registry",
               "village_empowerment": "Community and village empowerment", "transport": "Transport",
               "communication": "Communication and informatics", "cooperatives_smes": "Cooperatives and small businesses",
               "investment": "Investment", "youth_sports": "Youth and sports", "culture": "Culture",
               "libraries_archives": "Libraries and archives", "tourism": "Tourism", "agriculture": "Agriculture",
               "plantation": "Plantations", "marine_fisheries": "Marine affairs and fisheries", "trade": "Trade",
               "industry": "Industry", "energy": "Energy and mineral resources", "clean_water": "Drinking water",
               "law": "Law", "governance": "General government", "regional_assets": "Regional property management",
               "village_governance": "Village government", "development": "Village development",
               "community": "Village community affairs", "empowerment": "Village community empowerment",
               "bumdes": "Village-owned enterprises (BUMDes)"},
    },
    # Where a location lies against the IKN delineation (wilayah units, an agreement's ``ikn_delineation``).
    "ikn_delineation": {
        "id": {"inside": "Masuk IKN", "cut": "Terpotong garis IKN", "to_confirm": "Perlu dikonfirmasi", "outside": "Di luar IKN"},
        "en": {"inside": "Inside IKN", "cut": "Cut by the IKN line", "to_confirm": "To be confirmed", "outside": "Outside IKN"},
    },
    "ikn_relevance": {
        "id": {"direct": "Langsung", "indirect": "Tidak langsung", "none": "Tidak terkait", "": "(belum diisi)"},
        "en": {"direct": "Direct", "indirect": "Indirect", "none": "Not related", "": "(not set)"},
    },
    "form": {
        "id": {"sewa": "Sewa", "pinjam_pakai": "Pinjam pakai", "ksp": "KSP", "bgs_bsg": "BGS/BSG", "kspi": "KSPI", "ketupi": "KETUPI"},
        "en": {"sewa": "Lease", "pinjam_pakai": "Loan for use", "ksp": "KSP", "bgs_bsg": "BGS/BSG", "kspi": "KSPI", "ketupi": "KETUPI"},
    },
    "outcome": {
        "id": {"continue": "Dilanjutkan", "upgrade": "Ditingkatkan menjadi PKS", "revise": "Direvisi (adendum)",
               "terminate": "Diakhiri", "extend": "Diperpanjang", "end": "Diakhiri (BMD)"},
        "en": {"continue": "Continued", "upgrade": "Upgraded to a PKS", "revise": "Revised (addendum)",
               "terminate": "Terminated", "extend": "Extended", "end": "Ended (BMD)"},
    },
}


def choice_label(field: str, value: str | None, lang: str = "id") -> str:
    """The printable label of a choice value (the value itself when no label is known)."""
    table = CHOICE_LABELS.get(field, {}).get("en" if lang == "en" else "id", {})
    return table.get(value or "", value or "")


def choice_labels(field: str, lang: str = "id") -> Mapping[str, str]:
    return CHOICE_LABELS.get(field, {}).get("en" if lang == "en" else "id", {})


# Headings and fixed phrases of the report (HTML, PDF, XLSX, text).
REPORT_TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Inventaris Kerja Sama Daerah", "team": "Tim Koordinasi Kerja Sama Daerah (TKKSD)",
        "as_of": "per", "sample_title": "Data contoh.",
        "sample_body": "Laporan ini memuat inventaris contoh (bukan data resmi).",
        "total": "Jumlah kerja sama", "active": "Berjalan / dalam proses", "final": "Selesai", "hanging": "Menggantung",
        "due_soon": "Jatuh tempo {days} hari", "followup_rate": "KB/MoU ditindaklanjuti PKS", "ikn_share": "Terkait IKN",
        "summary": "Ringkasan", "trends": "Perkembangan dari waktu ke waktu",
        "by_state": "Menurut status", "by_year": "Menurut tahun penandatanganan", "by_category": "Menurut kategori",
        "by_partner_type": "Menurut jenis mitra", "by_opd": "OPD pengampu (15 terbanyak)", "ikn": "Keterkaitan dengan IKN",
        "followup": "Tindak lanjut KB/MoU menjadi PKS",
        "followup_text": "{followed} dari {total} KB/MoU yang ditandatangani telah ditindaklanjuti dengan PKS "
                         "({preparing} PKS masih disiapkan); {open} belum ditindaklanjuti.",
        "signed_per_year": "Penandatanganan per tahun", "signed_per_month": "Penandatanganan per bulan",
        "hanging_per_quarter": "Menggantung pada akhir triwulan (kerja sama yang kini menggantung)",
        "evaluations_per_year": "Hasil evaluasi per tahun",
        "evaluation": "Hasil evaluasi", "outcome": "Hasil", "from_history": "Dari riwayat",
        "at_import": "Tercatat saat impor", "count": "Jumlah",
        "hanging_list": "Kerja sama menggantung", "number": "Nomor", "agreement_title": "Judul", "state": "Status",
        "since": "Sejak", "days": "Hari", "responsible": "Penanggung jawab", "reasons": "Keterangan",
        "no_hanging": "Tidak ada kerja sama yang menggantung.",
        "due_list": "Jatuh tempo {days} hari ke depan", "date": "Tanggal", "days_left": "Sisa hari",
        "what_due": "Yang jatuh tempo", "no_due": "Tidak ada tenggat dalam {days} hari ke depan.",
        "opd_table": "OPD pengampu", "code": "Kode", "opd": "OPD", "active_short": "Berjalan / proses",
        "footer": "Dibuat oleh tkksd pada {when}. Menggantung: tenggat yang terlewati, tahap yang melewati batas waktu, "
                  "evaluasi berkala yang terlambat, KB/MoU lebih dari 12 bulan tanpa PKS, atau masa berlaku yang berakhir "
                  "tanpa ditutup.",
        "empty": "(tidak ada data)", "of": "dari", "not_signed": "Belum ditandatangani", "page": "Halaman",
        "label": "Uraian", "share": "Porsi", "year": "Tahun", "made": "dibuat", "value": "Nilai", "summary_sheet": "ringkasan",
    },
    "en": {
        "title": "Inventory of Regional Cooperation Agreements", "team": "Regional Cooperation Coordination Team (TKKSD)",
        "as_of": "as of", "sample_title": "Sample data.",
        "sample_body": "This report shows a sample inventory (not official records).",
        "total": "Agreements", "active": "Running / in progress", "final": "Closed", "hanging": "Hanging",
        "due_soon": "Due within {days} days", "followup_rate": "KB/MoU followed by a PKS", "ikn_share": "Related to IKN",
        "summary": "Summary", "trends": "Trends over time",
        "by_state": "By state", "by_year": "By year of signing", "by_category": "By category",
        "by_partner_type": "By partner type", "by_opd": "Lead OPD (top 15)", "ikn": "Relation to IKN",
        "followup": "KB/MoU followed up by a PKS",
        "followup_text": "{followed} of {total} signed KB/MoU have been followed by a PKS "
                         "({preparing} PKS in preparation); {open} not followed up.",
        "signed_per_year": "Signings per year", "signed_per_month": "Signings per month",
        "hanging_per_quarter": "Hanging at the end of each quarter (agreements hanging now)",
        "evaluations_per_year": "Evaluation outcomes per year",
        "evaluation": "Evaluation outcomes", "outcome": "Outcome", "from_history": "From history",
        "at_import": "Recorded at import", "count": "Count",
        "hanging_list": "Hanging agreements", "number": "Number", "agreement_title": "Title", "state": "State",
        "since": "Since", "days": "Days", "responsible": "Responsible", "reasons": "Reasons",
        "no_hanging": "No agreement is hanging.",
        "due_list": "Due in the next {days} days", "date": "Date", "days_left": "Days left",
        "what_due": "What is due", "no_due": "Nothing falls due in the next {days} days.",
        "opd_table": "Lead OPDs", "code": "Code", "opd": "OPD", "active_short": "Running / in progress",
        "footer": "Made by tkksd on {when}. Hanging: a missed deadline, a step over its time limit, an overdue periodic "
                  "evaluation, a KB/MoU more than 12 months without a PKS, or an end date passed without closing.",
        "empty": "(no data)", "of": "of", "not_signed": "Not signed yet", "page": "Page",
        "label": "Label", "share": "Share", "year": "Year", "made": "made on", "value": "Value", "summary_sheet": "summary",
    },
}


def report_text(lang: str) -> dict[str, str]:
    return REPORT_TEXT["en" if lang == "en" else "id"]


DEADLINE_TEXT = {
    "id": {
        "step_sla": "Batas waktu tahap '{state}'", "escalation": "Eskalasi ke Ketua TKKSD (tahap '{state}')",
        "periodic_evaluation": "Evaluasi berkala", "expiry_warning": "Peringatan: masa berlaku berakhir {days} hari lagi",
        "expiry": "Masa berlaku berakhir", "kb_followup": "Tindak lanjut KB menjadi PKS",
        "contract_due": "Batas penandatanganan perjanjian sewa (1 bulan setelah persetujuan)",
        "contribution_due": "Pembayaran kontribusi tahunan",
        "contribution_deadline": "Setoran kontribusi tahunan (paling lambat 31 Maret)",
        "kb_followup_extended": "Tindak lanjut KB menjadi PKS (tambahan waktu)",
        "kb_decision": "Keputusan Ketua TKKSD atas KB yang belum ditindaklanjuti",
        "kb_decision_extended": "Keputusan Ketua TKKSD atas KB (setelah tambahan waktu)",
        "resync_due": "Sinkronisasi ulang dengan rencana yang berlaku",
        "resync_escalation": "Eskalasi sinkronisasi ulang ke Ketua TKKSD",
        "dprd_wait": "Persetujuan DPRD",
        "ikn_decision": "Keputusan terkait delineasi IKN",
    },
    "en": {
        "step_sla": "Time limit of step '{state}'", "escalation": "Escalation to the TKKSD chair (step '{state}')",
        "periodic_evaluation": "Periodic evaluation", "expiry_warning": "Warning: the term ends in {days} days",
        "expiry": "End of term", "kb_followup": "Follow-up of the KB by a PKS",
        "contract_due": "Lease contract to be signed (1 month after approval)",
        "contribution_due": "Yearly contribution payment",
        "contribution_deadline": "Yearly contribution paid in (by 31 March)",
        "kb_followup_extended": "Follow-up of the KB by a PKS (more time given)",
        "kb_decision": "The TKKSD chair's decision on a KB not followed up",
        "kb_decision_extended": "The TKKSD chair's decision on a KB (after more time)",
        "resync_due": "Re-synchronization with the plan in force",
        "resync_escalation": "Re-synchronization escalated to the TKKSD chair",
        "dprd_wait": "DPRD approval",
        "ikn_decision": "Decision on the IKN delineation",
    },
}


def deadline_what(defn, rule: str, state: str, offset_days: int = 0, lang: str = "id") -> str:
    """What a deadline row is about, in a sentence fragment a reader of the report understands."""
    state_label = defn.state(state).label.get(lang) if defn is not None and defn.has_state(state) else state
    texts = DEADLINE_TEXT["en" if lang == "en" else "id"]
    if rule in texts:
        return texts[rule].format(state=state_label, days=abs(offset_days))
    return rule.replace("_", " ").capitalize()
