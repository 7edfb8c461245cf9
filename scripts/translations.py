"""The message catalogs: extract, list what lacks a translation, compile.

    python scripts/translations.py missing [--stub FILE]   # msgids without a translation
    python scripts/translations.py compile                 # id/*.po -> id/LC_MESSAGES/tkksd.mo
    python scripts/translations.py check                   # what the test checks, as a command

The Indonesian translations live in several ``.po`` files under ``engine/locale/id/`` (one per
part of the program, so that work on different parts does not collide); ``compile`` merges them
into the one catalog the program loads. ``click.po`` holds the messages of the click library
(usage lines, option errors), which click marks with the standard gettext.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
import re
import sys
import tomllib
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "engine", ROOT / "config", ROOT / "workflows", ROOT / "notifiers")
DEFINITIONS = ROOT / "workflows" / "definitions"
LOCALE = ROOT / "engine" / "locale"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "in_language": (1,)}
LANGUAGE = "id"
PLACEHOLDER = re.compile(r"\{[a-z_0-9]*(?:![rsa])?(?::[^{}]*)?\}")


def extracted() -> dict[str, list[str]]:
    """Every marked message of the program, and every sentence of the shipped workflow
    definitions -> where it is used (file:line)."""
    found: dict[str, list[str]] = {}
    method_map = [("**/locale/**", "ignore"), ("**.py", "python")]
    for folder in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(folder), method_map=method_map, keywords=KEYWORDS, strip_comment_tags=True):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, []).append(f"{folder.name}/{filename}:{lineno}")
    for path in sorted(DEFINITIONS.glob("*.toml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for text in definition_texts(tomllib.loads("\n".join(lines))):
            lineno = next((i for i, line in enumerate(lines, 1) if text in line), 0)
            found.setdefault(text, []).append(f"workflows/definitions/{path.name}:{lineno}")
    return found


def definition_texts(data: dict) -> list[str]:
    """The sentences a shipped definition shows people, which ``workflows.wording.said``
    translates: each condition rule's message and each approval named in a settings table."""
    texts = [r["message"] for e in data.get("events", []) for r in e.get("rules", [])
             if r.get("rule") == "condition" and isinstance(r.get("message"), str)]
    for table in data.get("settings", {}).values():
        entries = table.values() if isinstance(table, dict) else []
        texts.extend(e["approval"] for e in entries if isinstance(e, dict) and isinstance(e.get("approval"), str))
    return texts


def sources(lang: str = LANGUAGE) -> list[Path]:
    return sorted((LOCALE / lang).glob("*.po"))


def merged(lang: str = LANGUAGE) -> tuple[Catalog, list[str]]:
    """All the ``.po`` files of ``lang`` as one catalog, and the conflicts between them."""
    # Fixed header dates: the compiled file depends on the translations only, so the check below
    # can compare it byte for byte.
    fixed = datetime(2026, 1, 1, tzinfo=timezone.utc)
    catalog = Catalog(locale=lang, domain="tkksd", project="tkksd", fuzzy=False, creation_date=fixed, revision_date=fixed)
    conflicts: list[str] = []
    for path in sources(lang):
        with path.open("rb") as fh:
            part = read_po(fh, locale=lang)
        for message in part:
            if not message.id:
                continue
            known = catalog.get(message.id)
            if known is not None and known.string != message.string:
                conflicts.append(f"{path.name}: {message.id!r} translated differently elsewhere")
                continue
            catalog.add(message.id, message.string, flags=message.flags)
    return catalog, conflicts


def compiled_bytes(lang: str = LANGUAGE) -> bytes:
    catalog, _ = merged(lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def mo_path(lang: str = LANGUAGE) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "tkksd.mo"


def problems(lang: str = LANGUAGE) -> list[str]:
    """What stands between the code and a complete catalog (empty when all is well)."""
    catalog, out = merged(lang)
    for msgid, where in sorted(extracted().items()):
        message = catalog.get(msgid)
        strings = message.string if message is not None and isinstance(message.string, tuple) else (
            (message.string,) if message is not None else ("",))
        if not all(strings):
            out.append(f"untranslated: {msgid!r} ({where[0]})")
        elif message.fuzzy:
            out.append(f"fuzzy: {msgid!r} ({where[0]})")
        elif isinstance(message.string, str) and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(message.string)):
            out.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    if not mo_path(lang).exists() or mo_path(lang).read_bytes() != compiled_bytes(lang):
        out.append(f"{mo_path(lang).relative_to(ROOT)} is not compiled from the .po files: run `python scripts/translations.py compile`")
    return out


def stub(path: Path) -> int:
    """Append every untranslated message to ``path`` with an empty translation, to be filled in."""
    catalog, _ = merged()
    target = Catalog(locale=LANGUAGE)
    if path.exists():
        with path.open("rb") as fh:
            target = read_po(fh, locale=LANGUAGE)
    added = 0
    for msgid, where in sorted(extracted().items()):
        known = catalog.get(msgid)
        if (known is None or not known.string) and target.get(msgid) is None:
            target.add(msgid, "", locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where[:1]])
            added += 1
    with path.open("wb") as fh:
        write_po(fh, target, width=0, omit_header=True)
    return added


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "compile":
        mo_path().parent.mkdir(parents=True, exist_ok=True)
        mo_path().write_bytes(compiled_bytes())
        print(f"{mo_path().relative_to(ROOT)}: {len(merged()[0])} messages")
        return 0
    if command == "missing":
        if "--stub" in argv:
            print(f"{stub(Path(argv[argv.index('--stub') + 1]))} messages added")
            return 0
        found = [p for p in problems() if p.startswith("untranslated")]
        print("\n".join(found) or "every message has a translation")
        return 1 if found else 0
    if command == "check":
        found = problems()
        print("\n".join(found) or "the catalogs are complete and compiled")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
