"""The message catalogs: every message the program can say has its Indonesian translation, with the
same placeholders, and the compiled catalog the program loads is the one the ``.po`` files make.

The catalog tool is ``scripts/translations.py`` (docs/translations.md); this test runs its checks.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("translations_tool", ROOT / "scripts" / "translations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_is_translated_and_compiled():
    problems = _tool().problems()
    assert not problems, "\n".join(problems[:40]) + (f"\n… and {len(problems) - 40} more" if len(problems) > 40 else "")


def test_an_untranslated_message_is_found(tmp_path, monkeypatch):
    """The check is not vacuous: a new message without a translation makes it fail."""
    tool = _tool()
    source = tmp_path / "src"
    source.mkdir()
    (source / "new.py").write_text('from engine.i18n import _\nprint(_("A message nobody translated yet"))\n')
    monkeypatch.setattr(tool, "SOURCES", (source,))
    assert any("A message nobody translated yet" in p for p in tool.problems())


def test_language_variable_is_case_insensitive_and_refusals_name_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TKKSD_HOME": str(tmp_path), "HOME": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], env={**env, "TKKSD_LANGUAGE": "EN"},
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "Usage:" in ok.stdout
    indonesian = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], env={**env, "TKKSD_LANGUAGE": "Id"},
                                capture_output=True, text=True, cwd=ROOT)
    assert "Penggunaan:" in indonesian.stdout
    bad = subprocess.run([sys.executable, "-m", "engine.cli", "list"], env={**env, "TKKSD_LANGUAGE": "fr"},
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 9 and "TKKSD_LANGUAGE" in bad.stderr and "fr" in bad.stderr, bad.stderr
