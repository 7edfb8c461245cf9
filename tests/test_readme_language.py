"""The README's commands, run as a newcomer runs them, in Indonesian (the default) and in English:
no English in the Indonesian run and no Indonesian in the English one (names and titles aside), no
code where a label exists, no UTC or ISO time on screen."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_readme import sh_block_after

ROOT = Path(__file__).resolve().parents[1]

# Commands of the README's tables, after the walk ($ID is the walked agreement).
MORE = """
tkksd show "$ID"
tkksd list --limit 5
tkksd status
tkksd doctor || true
tkksd due --within 400d
tkksd simulate --until "$(date -d '+40 days' +%F)"
tkksd outbox list
tkksd report
tkksd export "$TMPDIR/out.csv"
tkksd calendar --output "$TMPDIR/c.ics"
tkksd graph "$ID" --output "$TMPDIR/g.mmd"
tkksd evaluasi status || true
tkksd wilayah list --kecamatan 64.02.01 || true
tkksd wilayah of "$ID"
tkksd potensi list
tkksd events "$ID"
tkksd fire "$ID" identfy || true
tkksd list --state integrate || true
tkksd daemon --once
"""

ENGLISH_WORDS = {"the", "is", "now", "of", "and", "with", "not", "agreement", "agreements", "deadline", "deadlines",
                 "error", "none", "state", "event", "events", "due", "overdue", "days", "created", "from", "which",
                 "would", "will", "what", "who", "were", "was", "has", "have", "nothing", "changed", "missing",
                 "requires", "allowed", "mean", "did", "found", "verified", "sent", "pending", "running", "since"}
INDONESIAN_WORDS = {"yang", "dan", "tidak", "dengan", "untuk", "belum", "sudah", "kini", "sejak", "tenggat", "hari",
                    "terlambat", "dalam", "kerja", "berjalan", "surel", "perlu", "oleh", "pada", "atau", "ada",
                    "tahap", "menggantung", "jatuh", "tempo", "riwayat", "peristiwa"}
SNAKE = re.compile(r"(?<![-\w=/.])([a-z]+_[a-z_]+)(?![\w=/.(])")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\bUTC\b|\+00:00")


def _run(env, tmp_path, language):
    script = "\n".join([
        "set -eo pipefail",
        sh_block_after("adds the others:"),
        sh_block_after("A walk through the workflow"),
        MORE,
    ])
    bin_dir = str(Path(sys.executable).parent)
    run_env = dict(env, PATH=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", TKKSD_LANGUAGE=language, TMPDIR=str(tmp_path),
                   COLUMNS="200")
    proc = subprocess.run(["bash", "-c", script], env=run_env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = subprocess.run([str(Path(bin_dir) / "tkksd"), "list", "--json"], env=run_env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    return proc.stdout + "\n" + proc.stderr, json.loads(names.stdout)


def _without_names(text: str, agreements, tmp_path) -> str:
    """The output with the names people gave (titles, partners, paths, addresses) taken out."""
    names = sorted({a[k] for a in agreements for k in ("title", "partner") if a.get(k)}, key=len, reverse=True)
    for name in names:
        text = text.replace(name, " ")
    text = text.replace(str(tmp_path), " ")
    # "perlu ends_on (Tanggal berakhir)": the key to type, then its label; workflow names are names.
    text = re.sub(r"\b[a-z]+_[a-z_]+ \(", " (", text)
    text = re.sub(r"\b(?:kerja-sama-desa|kerja-sama|pemanfaatan-bmd)\b", " ", text)
    text = re.sub(r"\S*[/@]\S*|--?[a-z][\w-]*|\S+\.(?:csv|ics|mmd|xlsx|html|db)\b", " ", text)
    # A code beside its label ("Identifikasi (identify)") is what the user types; a list of the
    # valid values after a refusal is too.
    text = re.sub(r"\((?:'?[a-z][a-z0-9_]*'?(?:, )?)+\)", " ", text)
    return re.sub(r"(?:yang sah|valid ones|valid values?|maksud Anda|did you mean|salah satu dari|one of)[^\n]*", " ", text,
                  flags=re.I)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["id", "en"])
def test_readme_commands_speak_one_language_with_labels_and_wita(env, tmp_path, language):
    out, agreements = _run(env, tmp_path, language)
    text = _without_names(out, agreements, tmp_path)
    assert not ISO_TIME.findall(text), ISO_TIME.findall(text)[:10]
    foreign = _words(text) & (ENGLISH_WORDS if language == "id" else INDONESIAN_WORDS)
    assert not foreign, (sorted(foreign), out[:4000])
    # In English a label that only repeats its code ("open_evaluation") is shown once, as the code
    # the user types; in Indonesian every code has a label of its own.
    codes = set(SNAKE.findall(text)) if language == "id" else set()
    assert not codes, sorted(codes)
