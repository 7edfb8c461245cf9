"""Diagrams (SVG parsed by an XML parser, Mermaid text checked) and the iCalendar export."""

from __future__ import annotations

import re
import shutil
from xml.dom import minidom

import pytest

from tests.helpers import add_service, walk_service
from tests.setups import demo_imported, shared_setup

from .conftest import NOW_2024

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")


@needs_dot
def test_workflow_svg_parses_and_carries_indonesian_labels_and_roles(ctx, cli, tmp_path):
    out = tmp_path / "kerja-sama.svg"
    cli("graph", "--output", str(out))
    doc = minidom.parse(str(out))  # an XML parser independent of Graphviz
    assert doc.documentElement.tagName == "svg"
    texts = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild)
    for label in ("Usulan", "Terintegrasi (berjalan)", "Dievaluasi", "Diakhiri"):
        assert label in texts
    assert "identify: Identifikasi [Sekretariat]" in texts and "Ketua TKKSD" in texts


def test_agreement_path_is_highlighted(ctx, cli, tmp_path):
    ref = add_service(ctx)
    walk_service(ctx, ref, "integrated")
    dot = tmp_path / "a.dot"
    cli("graph", ref, "--output", str(dot))
    source = dot.read_text()
    assert re.search(r'integrated \[label="[^"]*" color=red fillcolor=darksalmon', source)  # the current state
    for src, dst in (("proposed", "identified"), ("identified", "verified"), ("signed", "integrated")):
        assert re.search(rf'{src} -> {dst} \[label="[^"]*" color=blue', source), (src, dst)
    assert not re.search(r'integrated -> terminated \[label="[^"]*" color=blue', source)
    mmd = tmp_path / "a.mmd"
    cli("graph", ref, "--output", str(mmd))
    text = mmd.read_text()
    assert "Class integrated s_active" in text and "Class signed s_previous" in text


def test_mermaid_text_of_the_bmd_workflow(ctx, cli, tmp_path):
    out = tmp_path / "bmd.mmd"
    cli("graph", "--workflow", "pemanfaatan-bmd", "--output", str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "---" and "stateDiagram-v2" in lines[3]
    states = {m.group(2): m.group(1) for m in (re.match(r'\s*state "(.+)" as (\w+)$', line) for line in lines) if m}
    assert states["proposed"] == "Usulan (proposed)" and "closed" in states
    edges = [re.match(r"\s*(\w+) --> (\w+): (.+)$", line) for line in lines]
    edges = [e for e in edges if e]
    assert ("ended", "closed") in {(e.group(1), e.group(2)) for e in edges}
    assert all(e.group(1) in states and e.group(2) in states for e in edges)
    assert any("[Sekretariat]" in e.group(3) for e in edges)
    assert "[*] --> proposed" in out.read_text()


def test_png_without_dot_is_one_clear_sentence(ctx, cli, tmp_path):
    out = cli("graph", "--output", str(tmp_path / "x.png"), check=False, extra_env={"PATH": "/nonexistent"})
    assert out.returncode == 9
    assert out.stderr.count("\n") == 1 and "Program dot dari Graphviz belum terpasang" in out.stderr and ".mmd" in out.stderr
    assert not (tmp_path / "x.png").exists()


def _unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # RFC 5545 3.1: CRLF line breaks only
    physical = text.split("\r\n")
    assert physical[-1] == ""
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)  # folded at 75 octets
    logical: list[str] = []
    for line in physical[:-1]:
        if line.startswith((" ", "\t")):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


@shared_setup(demo_imported)
def test_calendar_of_pending_deadlines_parses_back(demo_ctx, cli, tmp_path):
    from icalendar import Calendar

    out = tmp_path / "dkp.ics"
    cli("calendar", "--opd", "DKP", "--output", str(out), now=NOW_2024)
    data = out.read_bytes()
    lines = _unfold(data)
    # Plain-text RFC 5545 structure, independent of the library that wrote it.
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    stack = []
    for line in lines:
        if line.startswith("BEGIN:"):
            stack.append(line[6:])
        elif line.startswith("END:"):
            assert stack.pop() == line[4:]
    assert not stack
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert "TZID:Asia/Makassar" in lines
    events = data.decode().count("BEGIN:VEVENT")
    assert events > 5
    vevents_text: list[list[str]] = []
    inside = False
    for line in lines:
        if line == "BEGIN:VEVENT":
            inside = True
            vevents_text.append([])
        elif line == "END:VEVENT":
            inside = False
        elif inside:
            vevents_text[-1].append(line)
    assert len(vevents_text) == events
    for props in vevents_text:
        names = {p.split(":", 1)[0].split(";", 1)[0] for p in props}
        assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION"} <= names
        start = next(p for p in props if p.startswith("DTSTART"))
        assert re.fullmatch(r"DTSTART;TZID=Asia/Makassar:\d{8}T080000", start), start

    cal = Calendar.from_ical(data)
    vevents = cal.walk("VEVENT")
    assert len(vevents) == events
    for ev in vevents:
        start = ev.decoded("dtstart")
        assert str(start.tzinfo) == "Asia/Makassar" and (start.hour, start.minute) == (8, 0)
        summary = str(ev.get("summary"))
        assert re.match(r"\[(KS|BMD|DESA)-\d{4}-\d{4}\] ", summary)
        assert "OPD pengampu: DKP" in str(ev.get("description"))
        assert summary[1:summary.index("]")] in str(ev.get("description"))
    assert len({str(ev.get("uid")) for ev in vevents}) == events


def test_calendar_refuses_an_unknown_opd(ctx, cli, tmp_path):
    out = cli("calendar", "--opd", "NOPE", "--output", str(tmp_path / "x.ics"), check=False)
    assert out.returncode == 2 and "Kode OPD 'NOPE' tidak dikenal" in out.stderr
