#!/usr/bin/env python3
"""Generate the demo inventory: SAMPLE DATA modelled on Kukar's 210 signed agreements of 2020 to
April 2024 (domain.md §3, §5), plus a few proposals still in the TKKSD steps.

The partners, fields, OPDs and the shape of the inventory are real (Otorita IKN, PPU,
Balikpapan, Samarinda, Pemprov Kaltim, Kejari Kukar, Unmul, Kukar's BUMD, six BMD contracts,
KBs never followed up, agreements overdue for evaluation); the individual agreements, numbers
and dates are invented. Reproducible: a fixed seed and a fixed "as of" date, so running it
again writes the same file (a test checks that).

The six BMD contracts use the `pemanfaatan-bmd` workflow when that definition is loaded, else
they are kept as kerja-sama PKS whose objective notes the BMD form.

    .venv/bin/python scripts/make_demo_inventory.py            # writes config/demo/inventory.csv
    .venv/bin/python scripts/make_demo_inventory.py --output /tmp/x.csv --count 10000 --seed 7
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = date(2024, 4, 30)
SEED = 20240430
SIGNED_PER_YEAR = {2020: 31, 2021: 44, 2022: 52, 2023: 59, 2024: 24}  # = 210
REGENCY = "Pemerintah Kabupaten Kutai Kartanegara"
DELINEATION = ["Samboja", "Samboja Barat", "Muara Jawa", "Loa Kulu", "Loa Janan", "Sanga Sanga"]
KECAMATAN = ["Tenggarong", "Tenggarong Seberang", "Loa Kulu", "Loa Janan", "Samboja", "Samboja Barat", "Muara Jawa",
             "Sanga Sanga", "Anggana", "Muara Badak", "Marang Kayu", "Sebulu", "Muara Kaman", "Kota Bangun",
             "Kota Bangun Darat", "Muara Muntai", "Muara Wis", "Kenohan", "Kembang Janggut", "Tabang"]

# field -> (lead OPDs, topics)
FIELDS: dict[str, tuple[list[str], list[str]]] = {
    "food_security": (["DKP"], ["Penguatan Ketahanan Pangan dan Pasokan Pangan ke Ibu Kota Nusantara",
                                "Pengembangan Lumbung Pangan Daerah", "Stabilisasi Pasokan dan Harga Pangan Pokok",
                                "Penganekaragaman Konsumsi Pangan Lokal"]),
    "agriculture": (["DISTANAK"], ["Pengembangan Kawasan Pertanian Terpadu", "Penyediaan Benih Padi Unggul Bersertifikat",
                                   "Penerapan Pertanian Presisi dan Mekanisasi", "Pengembangan Peternakan Sapi Potong"]),
    "plantation": (["DISBUN"], ["Kemitraan Perkebunan Kelapa Sawit Rakyat", "Peremajaan Kebun Sawit Rakyat",
                                "Pengembangan Komoditas Kakao dan Lada"]),
    "marine_fisheries": (["DISLUTKAN"], ["Pengembangan Budidaya Perikanan Air Tawar", "Pengolahan Hasil Perikanan Pesisir Anggana"]),
    "clean_water": (["DPU", "BAG-EKON"], ["Penyediaan Air Minum Curah", "Pengembangan Sistem Penyediaan Air Minum Regional",
                                          "Perluasan Sambungan Rumah Air Minum"]),
    "transport": (["DISHUB"], ["Pengembangan Konektivitas Transportasi Tenggarong–Samboja–IKN",
                               "Penyelenggaraan Angkutan Sungai Mahakam", "Pengembangan Pelabuhan Sungai dan Dermaga Rakyat",
                               "Angkutan Umum Aglomerasi Balikpapan–Samarinda–IKN"]),
    "education": (["DISDIKBUD"], ["Peningkatan Mutu Pendidikan dan Tenaga Pendidik", "Beasiswa Kuliah Putra-Putri Kutai Kartanegara",
                                  "Pelaksanaan Tri Dharma Perguruan Tinggi", "Kuliah Kerja Nyata Tematik Desa",
                                  "Percepatan Peningkatan Mutu Layanan Pendidikan"]),
    "health": (["DINKES", "RSUD"], ["Jaminan Kesehatan Semesta bagi Penduduk Kutai Kartanegara", "Pelayanan Rujukan Kesehatan",
                                    "Percepatan Penurunan Stunting", "Pendidikan Dokter Spesialis dan Penempatan Tenaga Kesehatan"]),
    "tourism": (["DISPAR"], ["Promosi Wisata Budaya Erau dan Kedaton Kutai", "Pengembangan Desa Wisata",
                             "Paket Wisata Balikpapan–Kutai Kartanegara–IKN"]),
    "culture": (["DISDIKBUD"], ["Pelestarian Cagar Budaya Kutai Kartanegara Ing Martadipura"]),
    "law": (["BAG-HUKUM"], ["Penanganan Masalah Hukum Bidang Perdata dan Tata Usaha Negara",
                            "Pendampingan Hukum Proyek Strategis Daerah", "Penyuluhan dan Bantuan Hukum bagi Masyarakat"]),
    "environment": (["DLHK"], ["Konservasi Pesut Mahakam dan Habitatnya", "Pengelolaan Sampah Regional",
                               "Rehabilitasi Hutan dan Lahan Pascatambang", "Pengendalian Kebakaran Hutan dan Lahan"]),
    "energy": (["BAG-EKON"], ["Pengelolaan Participating Interest Wilayah Kerja Mahakam", "Penyediaan Listrik Desa",
                              "Penyediaan Listrik dan Energi untuk Kawasan IKN"]),
    "population_admin": (["DISDUKCAPIL"], ["Pemanfaatan Data Kependudukan untuk Layanan Publik", "Pelayanan Isbat Nikah dan Akta Kelahiran"]),
    "cooperatives_smes": (["DISKOPUKM"], ["Penyaluran Kredit Usaha Rakyat bagi UMKM", "Pembiayaan dan Digitalisasi Koperasi"]),
    "governance": (["BAG-TAPEM", "BAPPEDA", "BPKAD", "BAPENDA"], ["Penegasan Batas Daerah", "Koordinasi Kewenangan di Wilayah Delineasi IKN",
                                                                 "Pengelolaan Kas Daerah dan Transaksi Nontunai", "Optimalisasi Pajak Daerah",
                                                                 "Pertukaran Data Statistik Sektoral"]),
    "communication": (["DISKOMINFO"], ["Penyediaan Jaringan Internet Desa", "Pengembangan Kota Cerdas (Smart Regency)"]),
    "manpower": (["DISNAKERTRANS"], ["Pelatihan Vokasi dan Penempatan Tenaga Kerja Lokal", "Perlindungan Jaminan Sosial Ketenagakerjaan bagi Pekerja Rentan"]),
    "village_empowerment": (["DPMD"], ["Pengembangan Badan Usaha Milik Desa", "Peningkatan Kapasitas Aparatur Desa"]),
    "public_works": (["DPU"], ["Pembangunan dan Pemeliharaan Jalan Poros Antarwilayah", "Pengendalian Banjir dan Daya Rusak Air Sungai Mahakam"]),
    "public_order": (["SATPOLPP", "KESBANGPOL"], ["Ketenteraman dan Ketertiban Umum di Wilayah Perbatasan"]),
    "social": (["DINSOS"], ["Penyaluran Bantuan Sosial Nontunai", "Rehabilitasi Sosial Penyalahguna Narkotika"]),
    "investment": (["DPMPTSP"], ["Fasilitasi Penanaman Modal Kawasan Industri Kariangau–Samboja"]),
    "trade": (["DISPERINDAG"], ["Pemasaran Produk Unggulan Daerah"]),
    "industry": (["DISPERINDAG"], ["Pengembangan Industri Kecil dan Menengah"]),
    "youth_sports": (["DISPORA"], ["Pembinaan Atlet Berprestasi"]),
    "libraries_archives": (["DISPUSIP"], ["Pengelolaan Arsip Statis dan Perpustakaan Digital"]),
    "women_children": (["DP3A"], ["Perlindungan Perempuan dan Anak"]),
    "housing": (["DISPERKIM"], ["Peningkatan Kualitas Rumah Tidak Layak Huni"]),
    "land": (["BAG-TAPEM"], ["Percepatan Pendaftaran Tanah Sistematis Lengkap", "Sertifikasi Aset Tanah Pemerintah Daerah"]),
}

# (partner, type, category, fields, weight, ikn, from_year, signatory)
PARTNERS = [
    ("Otorita Ibu Kota Nusantara", "otorita_ikn", "SINERGI_IKN", ["food_security", "clean_water", "transport", "education", "tourism", "governance", "environment", "manpower"], 14, "direct", 2022, "Kepala Otorita IKN"),
    ("Pemerintah Kabupaten Penajam Paser Utara", "region", "KSDD", ["public_works", "transport", "agriculture", "clean_water", "governance", "education"], 7, "direct", 2020, "Bupati Penajam Paser Utara"),
    ("Pemerintah Kota Balikpapan", "region", "KSDD", ["tourism", "transport", "environment", "health", "trade"], 6, "direct", 2020, "Wali Kota Balikpapan"),
    ("Pemerintah Kota Samarinda", "region", "KSDD", ["transport", "environment", "clean_water", "public_works", "education"], 6, "indirect", 2020, "Wali Kota Samarinda"),
    ("Pemerintah Provinsi Kalimantan Timur", "region", "KSDD", ["food_security", "public_works", "education", "health", "governance", "environment"], 8, "indirect", 2020, "Gubernur Kalimantan Timur"),
    ("Pemerintah Kota Bontang", "region", "KSDD", ["health", "marine_fisheries", "trade"], 2, "none", 2020, "Wali Kota Bontang"),
    ("Pemerintah Kabupaten Kutai Timur", "region", "KSDD", ["public_works", "plantation", "governance"], 2, "none", 2020, "Bupati Kutai Timur"),
    ("Pemerintah Kabupaten Kutai Barat", "region", "KSDD", ["public_works", "transport", "governance"], 2, "none", 2020, "Bupati Kutai Barat"),
    ("Pemerintah Kabupaten Mahakam Ulu", "region", "KSDD", ["transport", "health"], 1, "none", 2020, "Bupati Mahakam Ulu"),
    ("Pemerintah Kabupaten Banyuwangi", "region", "KSDD", ["tourism", "agriculture", "communication"], 1, "none", 2020, "Bupati Banyuwangi"),
    ("Kejaksaan Negeri Kutai Kartanegara", "ministry_agency", "KSDPK", ["law"], 6, "none", 2020, "Kepala Kejaksaan Negeri Kutai Kartanegara"),
    ("Kepolisian Resor Kutai Kartanegara", "ministry_agency", "KSDPK", ["public_order", "social"], 2, "none", 2020, "Kapolres Kutai Kartanegara"),
    ("Kantor Pertanahan Kabupaten Kutai Kartanegara", "ministry_agency", "KSDPK", ["land"], 3, "indirect", 2020, "Kepala Kantor Pertanahan"),
    ("Badan Pusat Statistik Kabupaten Kutai Kartanegara", "ministry_agency", "KSDPK", ["governance"], 2, "none", 2020, "Kepala BPS Kabupaten Kutai Kartanegara"),
    ("BPJS Kesehatan Cabang Samarinda", "ministry_agency", "KSDPK", ["health"], 3, "none", 2020, "Kepala BPJS Kesehatan Cabang Samarinda"),
    ("BPJS Ketenagakerjaan Cabang Tenggarong", "ministry_agency", "KSDPK", ["manpower"], 2, "none", 2020, "Kepala BPJS Ketenagakerjaan Cabang Tenggarong"),
    ("Pengadilan Agama Tenggarong", "ministry_agency", "KSDPK", ["population_admin"], 2, "none", 2020, "Ketua Pengadilan Agama Tenggarong"),
    ("Balai Wilayah Sungai Kalimantan IV", "ministry_agency", "KSDPK", ["public_works", "clean_water"], 2, "indirect", 2020, "Kepala BWS Kalimantan IV"),
    ("Kantor Pelayanan Pajak Pratama Tenggarong", "ministry_agency", "KSDPK", ["governance"], 2, "none", 2020, "Kepala KPP Pratama Tenggarong"),
    ("Perumda Air Minum Tirta Mahakam", "bumn_bumd", "KSDPK", ["clean_water"], 5, "indirect", 2020, "Direktur Utama Perumda Air Minum Tirta Mahakam"),
    ("PT Mahakam Gerbang Raja Migas", "bumn_bumd", "KSDPK", ["energy"], 3, "indirect", 2020, "Direktur Utama PT Mahakam Gerbang Raja Migas"),
    ("PT Kutai Kartanegara Sejahtera Dambaan Etam", "bumn_bumd", "KSDPK", ["energy", "trade", "agriculture"], 2, "indirect", 2020, "Direktur Utama PT KSDE"),
    ("PT Tunggang Parangan", "bumn_bumd", "KSDPK", ["energy", "public_works"], 2, "indirect", 2020, "Direktur Utama PT Tunggang Parangan"),
    ("PT Bank Pembangunan Daerah Kalimantan Timur dan Kalimantan Utara (Bankaltimtara)", "bumn_bumd", "KSDPK", ["governance", "cooperatives_smes", "population_admin"], 5, "none", 2020, "Direktur Utama Bankaltimtara"),
    ("PT Bank Rakyat Indonesia (Persero) Tbk Cabang Tenggarong", "bumn_bumd", "KSDPK", ["cooperatives_smes", "governance"], 2, "none", 2020, "Pemimpin Cabang BRI Tenggarong"),
    ("PT PLN (Persero) Unit Induk Wilayah Kalimantan Timur dan Kalimantan Utara", "bumn_bumd", "KSDPK", ["energy"], 2, "indirect", 2020, "General Manager PLN UIW Kaltimra"),
    ("Perum Bulog Kantor Wilayah Kalimantan Timur", "bumn_bumd", "KSDPK", ["food_security"], 2, "indirect", 2020, "Pemimpin Wilayah Perum Bulog Kaltim"),
    ("PT Pupuk Kalimantan Timur", "bumn_bumd", "KSDPK", ["agriculture", "education"], 2, "none", 2020, "Direktur Utama PT Pupuk Kalimantan Timur"),
    ("PT Telkom Indonesia (Persero) Tbk Witel Samarinda", "bumn_bumd", "KSDPK", ["communication"], 2, "none", 2020, "General Manager Telkom Witel Samarinda"),
    ("PT Pos Indonesia (Persero) Cabang Tenggarong", "bumn_bumd", "KSDPK", ["social"], 1, "none", 2020, "Kepala Kantor Pos Tenggarong"),
    ("Universitas Mulawarman", "university", "KSDPK", ["education", "health", "agriculture", "environment", "governance"], 7, "indirect", 2020, "Rektor Universitas Mulawarman"),
    ("Universitas Kutai Kartanegara", "university", "KSDPK", ["education", "agriculture", "law"], 4, "none", 2020, "Rektor Universitas Kutai Kartanegara"),
    ("Politeknik Negeri Samarinda", "university", "KSDPK", ["education", "manpower"], 2, "none", 2020, "Direktur Politeknik Negeri Samarinda"),
    ("Institut Teknologi Kalimantan", "university", "KSDPK", ["education", "public_works", "communication"], 2, "direct", 2020, "Rektor Institut Teknologi Kalimantan"),
    ("Universitas Gadjah Mada", "university", "KSDPK", ["education", "health", "village_empowerment"], 2, "none", 2020, "Rektor Universitas Gadjah Mada"),
    ("IPB University", "university", "KSDPK", ["agriculture", "marine_fisheries"], 2, "none", 2020, "Rektor IPB University"),
    ("Politeknik Pertanian Negeri Samarinda", "university", "KSDPK", ["agriculture", "plantation"], 2, "none", 2020, "Direktur Politeknik Pertanian Negeri Samarinda"),
    ("UIN Sultan Aji Muhammad Idris Samarinda", "university", "KSDPK", ["education", "social"], 1, "none", 2020, "Rektor UIN SAMARINDA"),
    ("PT Agro Mahakam Lestari", "company", "KSDPK", ["plantation", "agriculture"], 2, "none", 2020, "Direktur PT Agro Mahakam Lestari"),
    ("PT Borneo Etam Energi", "company", "KSDPK", ["environment", "education", "village_empowerment"], 3, "none", 2020, "Direktur PT Borneo Etam Energi"),
    ("PT Etam Digital Solusi", "company", "KSDPK", ["communication", "governance"], 1, "none", 2020, "Direktur PT Etam Digital Solusi"),
    ("PT Mahakam Wisata Nusantara", "company", "KSDPK", ["tourism", "culture"], 1, "direct", 2020, "Direktur PT Mahakam Wisata Nusantara"),
    ("Yayasan Konservasi RASI", "ngo", "KSDPK", ["environment"], 1, "none", 2020, "Ketua Yayasan Konservasi RASI"),
    ("Palang Merah Indonesia Kabupaten Kutai Kartanegara", "ngo", "KSDPK", ["health", "social"], 1, "none", 2020, "Ketua PMI Kabupaten Kutai Kartanegara"),
    ("Badan Amil Zakat Nasional Kabupaten Kutai Kartanegara", "ngo", "KSDPK", ["social", "education"], 1, "none", 2020, "Ketua Baznas Kabupaten Kutai Kartanegara"),
    ("Japan International Cooperation Agency (JICA)", "foreign", "KSDLL", ["environment", "public_works"], 1, "none", 2020, "Chief Representative JICA Indonesia"),
]

VILLAGE_PARTNERS = [
    ("Badan Kerja Sama Antar-Desa Kecamatan Tenggarong Seberang", "Tenggarong Seberang", "KEC-TENGGARONG-SEBERANG"),
    ("Badan Kerja Sama Antar-Desa Kecamatan Anggana", "Anggana", "KEC-ANGGANA"),
    ("Badan Kerja Sama Antar-Desa Kecamatan Kota Bangun", "Kota Bangun", "KEC-KOTA-BANGUN"),
    ("Badan Kerja Sama Antar-Desa Kecamatan Loa Kulu", "Loa Kulu", "KEC-LOA-KULU"),
]

BMD = [
    # (title, partner, partner_type, form, years, lead OPD, location, area, valuation, rent, contribution, kecamatan, signed)
    ("Sewa Tanah dan Bangunan Eks Kantor Camat Tenggarong untuk Kantor Kas Bankaltimtara",
     "PT Bank Pembangunan Daerah Kalimantan Timur dan Kalimantan Utara (Bankaltimtara)", "bumn_bumd", "sewa", 5, "BPKAD",
     "Jl. Wolter Monginsidi, Tenggarong", 640, 4_850_000_000, 185_000_000, None, "Tenggarong", date(2020, 9, 14)),
    ("Pinjam Pakai Gedung Eks Dinas Pendidikan untuk Kantor Kejaksaan Negeri Kutai Kartanegara",
     "Kejaksaan Negeri Kutai Kartanegara", "ministry_agency", "pinjam_pakai", 5, "DISDIKBUD",
     "Jl. Ki Hajar Dewantara, Tenggarong", 1200, 7_300_000_000, None, None, "Tenggarong", date(2021, 3, 22)),
    ("Kerja Sama Pemanfaatan Lahan Pasar Tangga Arung", "PT Mahakam Niaga Sejahtera", "company", "ksp", 20, "DISPERINDAG",
     "Kelurahan Panji, Tenggarong", 8400, 21_500_000_000, None, 650_000_000, "Tenggarong", date(2021, 11, 8)),
    ("Bangun Guna Serah Pusat Perbelanjaan dan Hotel Tepian Mahakam", "PT Tepian Mahakam Properti", "company", "bgs_bsg", 25, "BPKAD",
     "Jl. Diponegoro, Tenggarong", 15600, 64_000_000_000, None, 1_250_000_000, "Tenggarong", date(2022, 6, 27)),
    ("Pinjam Pakai Lahan Balai Benih Ikan Loa Kulu kepada Pemerintah Provinsi Kalimantan Timur",
     "Pemerintah Provinsi Kalimantan Timur", "region", "pinjam_pakai", 5, "DISLUTKAN",
     "Desa Loa Kulu Kota, Loa Kulu", 25000, 9_800_000_000, None, None, "Loa Kulu", date(2023, 2, 13)),
    ("Sewa Lahan Menara Telekomunikasi di Kawasan Stadion Rondong Demang", "PT Telkom Indonesia (Persero) Tbk Witel Samarinda",
     "bumn_bumd", "sewa", 5, "DISPORA", "Kawasan Stadion Rondong Demang, Tenggarong", 144, 1_150_000_000, 96_000_000, None,
     "Tenggarong", date(2023, 8, 21)),
]

# Agreements modelled on reported events (domain.md §5.3); titles paraphrased, numbers invented.
ANCHORS = [
    (date(2023, 1, 31), "Pemerintah Kabupaten Penajam Paser Utara", "MoU", "public_works",
     "Nota Kesepahaman antara Pemerintah Kabupaten Kutai Kartanegara dan Pemerintah Kabupaten Penajam Paser Utara tentang "
     "Kajian Potensi Bersama, Infrastruktur Jalan dan Pelabuhan, Pertanian dan Air Bersih"),
    (date(2023, 10, 27), "Otorita Ibu Kota Nusantara", "NK", "food_security",
     "Nota Kesepakatan antara Otorita Ibu Kota Nusantara, Pemerintah Provinsi Kalimantan Timur dan Pemerintah Kabupaten "
     "Kutai Kartanegara tentang Ketahanan Pangan Ibu Kota Nusantara"),
    (date(2022, 8, 15), "Kejaksaan Negeri Kutai Kartanegara", "MoU", "law",
     "Nota Kesepahaman antara Pemerintah Kabupaten Kutai Kartanegara dan Kejaksaan Negeri Kutai Kartanegara tentang "
     "Penanganan Masalah Hukum Bidang Perdata dan Tata Usaha Negara"),
    (date(2021, 7, 12), "PT Mahakam Gerbang Raja Migas", "PKS", "energy",
     "Perjanjian Kerja Sama antara Pemerintah Kabupaten Kutai Kartanegara dan PT Mahakam Gerbang Raja Migas tentang "
     "Pengelolaan Participating Interest Wilayah Kerja Mahakam"),
    (date(2022, 3, 21), "Perumda Air Minum Tirta Mahakam", "PKS", "clean_water",
     "Perjanjian Kerja Sama antara Pemerintah Kabupaten Kutai Kartanegara dan Perumda Air Minum Tirta Mahakam tentang "
     "Perluasan Sambungan Rumah Air Minum di Wilayah Delineasi IKN"),
]

EVAL_FINDINGS = [
    "Kegiatan berjalan sesuai rencana kerja; manfaat dirasakan masyarakat.",
    "Realisasi kegiatan 80% dari rencana; perlu penguatan koordinasi antar-OPD.",
    "Indikator kinerja tercapai; mitra memenuhi kewajiban tepat waktu.",
    "Sebagian kegiatan tertunda karena refocusing anggaran; tetap relevan dengan RPJMD.",
]
TERMINATE_REASONS = [
    "Tujuan kerja sama tidak tercapai dan tidak memberi manfaat timbal balik.",
    "Mitra tidak melaksanakan kewajiban sesuai perjanjian.",
    "Digantikan oleh kesepakatan baru dengan cakupan lebih luas.",
]


def _keep(_drawn: str, topic: str) -> str:
    """The KB's subject; the draw still happens so that the rest of the inventory stays as it was."""
    return topic


def days(n: int) -> timedelta:
    return timedelta(days=n)


class Generator:
    def __init__(self, registry, opd_codes: set[str], seed: int = SEED, as_of: date = AS_OF):
        self.rnd = random.Random(seed)
        self.registry = registry
        self.as_of = as_of
        self.opd_codes = opd_codes
        self.bmd = "pemanfaatan-bmd" in registry.names()
        self.counters: dict[str, int] = {}
        self.rows: list[dict] = []

    def number(self, prefix: str, year: int) -> str:
        key = f"{prefix}-{year}"
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"{key}-{self.counters[key]:04d}"

    def pick_opd(self, fld: str) -> str:
        codes = [c for c in FIELDS[fld][0] if c in self.opd_codes]
        return self.rnd.choice(codes or ["BAG-KS"])

    def signing_dates(self, total: int) -> list[date]:
        out = []
        scale = total / sum(SIGNED_PER_YEAR.values())
        for year, n in SIGNED_PER_YEAR.items():
            last = self.as_of if year == self.as_of.year else date(year, 12, 20)
            first = date(year, 1, 10)
            span = (last - first).days
            out += [first + days(self.rnd.randrange(span)) for _ in range(max(1, round(n * scale)))]
        out = sorted(out)[:total]
        while len(out) < total:
            out.append(self.as_of - days(self.rnd.randrange(30, 400)))
        return sorted(out)

    # --------------------------------------------------------------- one agreement

    def kerja_sama(self, signed: date, kind: str, partner: tuple, fld: str, parent: dict | None = None) -> dict:
        name, ptype, category, _fields, _w, ikn, _from, signatory = partner
        rnd = self.rnd
        topic = rnd.choice(FIELDS[fld][1])
        if parent:
            topic = parent["_topic"]  # a follow-up PKS keeps the subject of its KB
        opd = parent["lead_opd"] if parent else self.pick_opd(fld)
        if kind == "PKS":
            title = f"Perjanjian Kerja Sama antara {REGENCY} dan {name} tentang {topic}"
            term = rnd.choice([1, 2, 2, 3, 3, 5])
        elif kind == "NK":
            title = f"Nota Kesepakatan antara {REGENCY} dan {name} tentang Sinergi {topic}"
            term = rnd.choice([3, 5])
        elif kind == "MoU":
            title = f"Nota Kesepahaman antara {REGENCY} dan {name} tentang {topic}"
            term = rnd.choice([3, 5, 5])
        else:
            title = f"Kesepakatan Bersama antara {REGENCY} dan {name} tentang {topic}"
            term = rnd.choice([3, 5, 5])
        if parent:
            title = f"Perjanjian Kerja Sama tentang {topic}"  # "(tindak lanjut <KB id>)" is added once ids exist
        kec = ""
        if ikn == "direct" or fld in ("food_security", "agriculture", "village_empowerment", "tourism"):
            pool = DELINEATION if ikn == "direct" else KECAMATAN
            kec = ", ".join(sorted(rnd.sample(pool, rnd.choice([1, 1, 2, 3]))))
        relevance = ikn
        if ikn == "none" and kec and any(k in DELINEATION for k in kec.split(", ")):
            relevance = "indirect"
        ends = signed.replace(year=signed.year + term) if not (signed.month == 2 and signed.day == 29) else signed + days(365 * term)
        burdens = rnd.random() < 0.15
        budgeted = rnd.random() < 0.85
        row = {
            "workflow": "kerja-sama", "title": title, "partner": name, "lead_opd": opd,
            "partner_type": ptype, "document_kind": kind, "category": category, "field": fld,
            "objective": f"{topic} untuk mendukung {'pembangunan IKN dan ' if relevance == 'direct' else ''}kesejahteraan masyarakat Kutai Kartanegara.",
            "ikn_relevance": relevance, "kecamatan": kec,
            "legal_basis_ok": True, "partner_standing_ok": True, "mutual_benefit_ok": True, "ikn_alignment_ok": True,
            "renstra_fit_ok": True,
            "plan_ref": ("RPJMD 2016-2021" if signed.year < 2021 or (signed.year == 2021 and signed.month < 9) else "RPJMD 2021-2026")
                        + f" Misi {rnd.randint(1, 5)}",
            "tkksd_recommendation_ref": (f"REK-TKKSD/{rnd.randint(1, 60):03d}/{signed.year}" if signed >= date(2021, 6, 1) else ""),
            "burdens_public": burdens, "budgeted_in_apbd": budgeted,
            "dprd_approval_ref": (f"Keputusan DPRD Nomor {rnd.randint(1, 40)}/{signed.year}" if burdens or not budgeted else ""),
            "overlap_acknowledged": "",
            "signed_on": signed, "starts_on": signed, "ends_on": ends,
            "signatories": f"Bupati Kutai Kartanegara; {signatory}",
            "parent": "", "_topic": topic,
        }
        if kind == "PKS":
            by_head = rnd.random() < 0.6
            row["signed_by_opd_head"] = by_head
            row["signatories"] = (f"Kepala {opd} (dengan Surat Kuasa Bupati); {signatory}" if by_head else row["signatories"])
            row["surat_kuasa_ref"] = f"SK-{rnd.randint(100, 999)}/BUP/{signed.year}" if by_head else ""
        else:
            row["signed_by_opd_head"] = False
        return row

    def lifecycle(self, row: dict) -> None:
        """State and the values the steps so far recorded, as of ``as_of``."""
        rnd = self.rnd
        signed, ends = row["signed_on"], row["ends_on"]
        integrated_on = signed + days(rnd.randint(20, 100))
        age = (self.as_of - signed).days
        if ends <= self.as_of:
            if rnd.random() < 0.25 and row["document_kind"] != "PKS":
                # extended by an adendum before the end
                row["ends_on"] = ends.replace(year=ends.year + rnd.choice([2, 3]))
                row["adendum_ref"] = f"ADD-{rnd.randint(1, 99):02d}/{ends.year}"
                self._running(row, integrated_on)
                return
            row.update(state="expired", state_since=ends, rkpd_ref=f"RKPD {signed.year + 1} {row['lead_opd']}-{rnd.randint(1, 40):02d}")
            return
        if age < 45 or integrated_on >= self.as_of or (age < 120 and rnd.random() < 0.25):
            row.update(state="signed", state_since=signed)
            return
        self._running(row, integrated_on)

    def _running(self, row: dict, integrated_on: date) -> None:
        rnd = self.rnd
        row["rkpd_ref"] = f"RKPD {integrated_on.year + 1} {row['lead_opd']}-{rnd.randint(1, 40):02d}"
        since = integrated_on
        months = (self.as_of - integrated_on).days / 30.4
        r = rnd.random()
        if months > 14 and r < 0.05:
            row.update(state="terminated", state_since=self.as_of - days(rnd.randint(30, 300)),
                       evaluation_findings=rnd.choice(EVAL_FINDINGS[1:]), evaluation_recommendation="terminate",
                       reason=rnd.choice(TERMINATE_REASONS))
            return
        if months > 12 and r < 0.12:
            row.update(state="under_evaluation", state_since=self.as_of - days(rnd.randint(5, 75)))
            return
        if months > 12 and r < 0.55:
            # evaluated within the last year and continued
            since = self.as_of - days(rnd.randint(20, 330))
            row.update(evaluation_findings=rnd.choice(EVAL_FINDINGS), evaluation_recommendation="continue")
        row.update(state="integrated", state_since=max(since, integrated_on))

    # --------------------------------------------------------------- the inventory

    def build(self, total_signed: int = 210, pipeline: int = 9) -> list[dict]:
        rnd = self.rnd
        n_bmd = min(len(BMD), total_signed // 35)
        n_desa = min(len(VILLAGE_PARTNERS), total_signed // 50)
        dates = self.signing_dates(total_signed - n_bmd)
        weights = [p[4] for p in PARTNERS]
        kbs: list[dict] = []
        village_left = list(VILLAGE_PARTNERS[:n_desa])
        for when, name, kind, fld, title in ANCHORS if total_signed >= 100 else ():
            dates.remove(min(dates, key=lambda d: abs((d - when).days)))
            row = self.kerja_sama(when, kind, next(p for p in PARTNERS if p[0] == name), fld)
            row["title"] = title
            row["_topic"] = title.split(" tentang ", 1)[1] if " tentang " in title else title
            if kind != "PKS":
                kbs.append(row)
            self._finish(row, when)
        for signed in dates:
            if village_left and rnd.random() < 0.03:
                name, kec, opd = village_left.pop(0)
                row = self.kerja_sama(signed, "KB", (name, "region", "KS_DESA", [], 0, "none", 2020, f"Ketua {name}"), "village_empowerment")
                row.update(lead_opd=opd if opd in self.opd_codes else "DPMD", kecamatan=kec,
                           title=f"Kesepakatan Bersama Kerja Sama Antar-Desa di Kecamatan {kec} tentang Pengembangan Badan Usaha Milik Desa Bersama")
            else:
                # A PKS follows up an earlier KB of the inventory now and then: about 45 % of KBs get one (Kaltim: 19 of 43).
                open_kbs = [k for k in kbs if not k.get("_child") and (signed - k["signed_on"]).days > 60
                            and k["ends_on"] > signed]
                if open_kbs and rnd.random() < 0.2:
                    kb = rnd.choice(open_kbs)
                    partner = next(p for p in PARTNERS if p[0] == kb["partner"]) if any(p[0] == kb["partner"] for p in PARTNERS) else None
                    if partner is not None:
                        row = self.kerja_sama(signed, "PKS", partner, kb["field"], parent=kb)
                        kb["_child"] = row
                        kb.setdefault("evaluation_recommendation", "upgrade")
                        self._finish(row, signed)
                        continue
                while True:
                    partner = rnd.choices(PARTNERS, weights)[0]
                    if signed.year >= partner[6] and not (partner[1] == "otorita_ikn" and signed < date(2022, 6, 1)):
                        break
                fld = rnd.choice(partner[3])
                kind = "NK" if partner[1] == "otorita_ikn" and rnd.random() < 0.4 else rnd.choices(["KB", "MoU", "PKS"], [45, 15, 40])[0]
                row = self.kerja_sama(signed, kind, partner, fld)
                if kind in ("KB", "MoU", "NK"):
                    kbs.append(row)
            self._finish(row, signed)
        for spec in BMD[:n_bmd]:
            self._bmd(*spec)
        from scripts.demo_wilayah import locate, villages_through_their_workflow  # issue 15

        villages_through_their_workflow(self.rows)
        self.rows.sort(key=lambda r: (r["signed_on"], r["title"]))
        self._number()
        self._pipeline(kbs, pipeline)
        locate(self.rows)
        for r in self.rows:
            r.pop("kecamatan", None)  # the free text gave the location; the units are the record
            r.pop("_child", None)
            r.pop("_parent_row", None)
            r.pop("_topic", None)
        return self.rows

    def _finish(self, row: dict, signed: date) -> None:
        self.lifecycle(row)
        self.rows.append(row)

    def _number(self) -> None:
        """Numbers in signing order per year; then each follow-up PKS names its KB."""
        for r in self.rows:
            prefix = {"pemanfaatan-bmd": "BMD", "kerja-sama-desa": "DESA"}.get(r["workflow"], "KS")
            r["id"] = self.number(prefix, r["signed_on"].year)
        for r in self.rows:
            child = r.get("_child")
            if child is not None:
                child["parent"] = r["id"]
                child["title"] += f" (tindak lanjut {r['id']})"

    def _bmd(self, title, partner, ptype, form, years, opd, location, area, valuation, rent, contribution, kec, signed) -> None:
        rnd = self.rnd
        approval = signed - days(rnd.randint(10, 25))
        ends = signed.replace(year=signed.year + years)
        if self.bmd:
            row = {
                "workflow": "pemanfaatan-bmd", "title": title, "partner": partner, "lead_opd": opd, "partner_type": ptype,
                "objective": title, "form": form, "kib_code": f"1.3.{rnd.randint(1, 4)}.{rnd.randint(1, 9):02d}.{rnd.randint(1, 99):03d} / Reg. {rnd.randint(1, 400):04d}",
                "asset_location": location, "asset_area_m2": area, "kecamatan": kec,
                "valuation_amount": valuation, "valuation_ref": f"LHP-KJPP/{rnd.randint(10, 99)}/{approval.year}",
                "asset_status_ok": True, "idle_asset_ok": True, "partner_standing_ok": True,
                "tkksd_recommendation_ref": f"REK-TKKSD/{rnd.randint(1, 60):03d}/{approval.year}" if approval >= date(2021, 6, 1) else "",
                "pengelola_approval_on": approval, "pengelola_approval_ref": f"030/{rnd.randint(100, 999)}/BPKAD/{approval.year}",
                "bupati_approval_needed": form in ("ksp", "bgs_bsg"),
                "bupati_approval_on": approval - days(7) if form in ("pinjam_pakai", "ksp", "bgs_bsg") else "",
                "bupati_approval_ref": f"SK-{rnd.randint(100, 999)}/BUP/{approval.year}" if form in ("pinjam_pakai", "ksp", "bgs_bsg") else "",
                "starts_on": signed, "ends_on": ends, "rent_amount": rent or "", "annual_contribution": contribution or "",
                "government_use_pct": 10 if form == "bgs_bsg" else "",  # the legal minimum (PP 28/2020 Pasal 36)
                "signed_on": signed, "contract_ref": f"PKS-BMD/{rnd.randint(1, 30):02d}/{signed.year}",
                "signatories": f"Sekretaris Daerah selaku Pengelola Barang; {partner}",
                "integration_ref": f"KIB-{opd}-{signed.year}",
                "state": "integrated", "state_since": signed + days(rnd.randint(20, 60)), "parent": "",
            }
            if signed < self.as_of - days(400) and rnd.random() < 0.5:
                row["evaluation_findings"] = "Pembayaran sewa/kontribusi tepat waktu; barang terpelihara."
                row["evaluation_recommendation"] = "continue"
                row["state_since"] = self.as_of - days(rnd.randint(30, 200))
        else:
            row = self.kerja_sama(signed, "PKS", (partner, ptype, "KSDPK", [], 0, "none", 2020, partner), "regional_assets")
            row.update(title=title, lead_opd=opd, objective=f"Pemanfaatan barang milik daerah (bentuk: {form}) — {location}.",
                       kecamatan=kec, ends_on=ends)
            self.lifecycle(row)
        self.rows.append(row)

    def _pipeline(self, kbs: list[dict], n: int) -> None:
        """Proposals still in the TKKSD steps: PKS follow-ups of KBs and new proposals."""
        rnd = self.rnd
        candidates = [k for k in kbs if not k.get("_child") and k["state"] == "integrated"]
        steps = ["proposed", "proposed", "identified", "identified", "verified", "synchronized", "proposed", "identified", "verified"]
        for i in range(min(n, len(candidates))):
            kb = candidates[(i * 7) % len(candidates)]
            state = steps[i % len(steps)]
            partner = next((p for p in PARTNERS if p[0] == kb["partner"]), PARTNERS[0])
            since = self.as_of - days(rnd.choice([9, 21, 40, 75, 130, 200]))
            row = {
                "workflow": "kerja-sama", "id": self.number("KS", since.year if since.year >= 2024 else 2024),
                "title": f"Perjanjian Kerja Sama tentang {_keep(rnd.choice(FIELDS[kb['field']][1]), kb['_topic'])} (tindak lanjut {kb['id']})",
                "partner": kb["partner"], "lead_opd": kb["lead_opd"], "parent": kb["id"], "document_kind": "PKS",
                "category": kb["category"], "partner_type": partner[1], "plan_ref": kb["plan_ref"],
                "state": state, "state_since": since,
            }
            if state != "proposed":
                row.update(field=kb["field"], objective=kb["objective"], ikn_relevance=kb["ikn_relevance"], kecamatan=kb["kecamatan"])
            if state in ("verified", "synchronized"):
                row.update(legal_basis_ok=True, partner_standing_ok=True, mutual_benefit_ok=True, ikn_alignment_ok=True, renstra_fit_ok=True)
            if state == "synchronized":
                row.update(tkksd_recommendation_ref=f"REK-TKKSD/{rnd.randint(1, 60):03d}/2024", burdens_public=False,
                           budgeted_in_apbd=True)
            kb["_child"] = row
            kb["evaluation_recommendation"] = "upgrade"
            self.rows.append(row)


def write(rows: list[dict], path: Path, registry) -> None:
    from engine.inventory import sheets

    # The columns of the versions new rows are imported under (an empty version means the latest):
    # a field only an older version has (the free-text kecamatan of version 1) is left out.
    current = {f.key for name in registry.names() for f in registry.latest(name).fields}
    keys = [c.key for c in sheets.columns(registry) if c.key in sheets.FIXED or c.key in current]
    unknown = sorted({k for r in rows for k in r if k not in keys})
    if unknown:
        raise SystemExit(f"columns not in the loaded definitions: {', '.join(unknown)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# DATA CONTOH / SAMPLE DATA - bukan data resmi. Inventaris kerja sama Kabupaten Kutai Kartanegara\n")
        fh.write("# 2020 s.d. April 2024 yang direka (mitra, bidang dan OPD nyata; naskah, nomor dan tanggal rekaan).\n")
        fh.write("# Dibuat oleh scripts/make_demo_inventory.py; dimuat dengan `tkksd demo`.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(keys)
        for r in rows:
            w.writerow([_cell(r.get(k)) for k in keys])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def generate(registry, opd_codes: set[str], *, seed: int = SEED, signed: int = 210, pipeline: int = 9,
             as_of: date = AS_OF) -> list[dict]:
    return Generator(registry, opd_codes, seed, as_of).build(signed, pipeline)


def main(argv: list[str] | None = None) -> int:
    from workflows import load_registry

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", default=str(ROOT / "config" / "demo" / "inventory.csv"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--count", type=int, default=210, help="signed agreements (the inventory has 210)")
    ap.add_argument("--pipeline", type=int, default=9, help="proposals still in the TKKSD steps")
    args = ap.parse_args(argv)
    registry = load_registry()
    with open(ROOT / "config" / "opd.csv", encoding="utf-8") as fh:
        codes = {r["code"] for r in csv.DictReader(fh)}
    rows = generate(registry, codes, seed=args.seed, signed=args.count, pipeline=args.pipeline)
    write(rows, Path(args.output), registry)
    states: dict[str, int] = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    bmd = sum(1 for r in rows if r["workflow"] == "pemanfaatan-bmd")
    print(f"wrote {len(rows)} agreements to {args.output} ({bmd} pemanfaatan-bmd); states: "
          + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
