"""Letters follow the form of official correspondence (naskah dinas): what the addressee must
do is said in words, never as a shell command. Every kind, both languages, sample contexts."""

from __future__ import annotations

import re

import pytest
from .samples import context

from notifiers.rendering import KINDS, Renderer

COMMAND = re.compile(r"\btkksd (fire|show|events|history|due|report|evaluasi|potensi|outbox|doctor|mail)\b")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("lang", ("id", "en"))
@pytest.mark.parametrize("kind", KINDS)
def test_no_letter_contains_a_shell_command(renderer, kind, lang):
    out = renderer.render(kind, context(kind, lang))
    for part, body in (("subject", out.subject), ("text", out.text), ("html", out.html)):
        found = COMMAND.search(body)
        assert found is None, f"{kind}/{lang} {part} contains the command {found.group(0)!r}"
        assert "--set" not in body and "--note" not in body, f"{kind}/{lang} {part} contains command options"


@pytest.mark.parametrize("lang", ("id", "en"))
def test_decision_letters_say_the_action_and_who_records_it(renderer, lang):
    kb = renderer.render("kb_decision", context("kb_decision", lang))
    ikn = renderer.render("ikn_decision", context("ikn_decision", lang))
    if lang == "id":
        assert "meningkatkan KB menjadi PKS" in kb.text and "tidak ditindaklanjuti" in kb.text
        assert "dicatat oleh Sekretariat TKKSD dalam tkksd" in kb.text
        assert "Otorita IKN" in ikn.text and "mengakhiri" in ikn.text
        assert "telah terlewati 9 hari" in ikn.text and "paling lambat" not in ikn.text
    else:
        assert "upgrade the KB to a PKS" in kb.text and "not followed up" in kb.text
        assert "The TKKSD secretariat records the decision you choose in tkksd." in kb.text
        assert "IKN Authority" in ikn.text and "end the agreement" in ikn.text
        assert "passed 9 days ago" in ikn.text
    for out in (kb, ikn):
        assert "<ol" in out.html and "<pre" not in out.html
