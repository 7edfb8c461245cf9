"""The workflow diagram as a picture (readable on A4, sans font, an imported agreement's implied
path) and the calendar through a second iCalendar parser (vobject): overdue flags, alarms, one
file per OPD."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from xml.dom import minidom

import vobject
from PIL import Image

from tests.conftest import Cli

from . import pictures


def test_the_diagram_fits_a4_in_a_sans_font_and_shows_the_path_an_import_implies(doc_env, graphviz_dot, tmp_path):
    cli = Cli(doc_env, tmp_path)
    png = tmp_path / "kerja-sama.png"
    cli("graph", "KS-2022-0010", "--output", str(png))
    with Image.open(png) as im:
        width, height = im.size
    assert 1 / 3 <= width / height <= 3, (width, height)
    svg = tmp_path / "kerja-sama.svg"
    cli("graph", "--output", str(svg))
    doc = minidom.parse(str(svg))
    fonts = {t.getAttribute("font-family") for t in doc.getElementsByTagName("text")}
    assert fonts == {"DejaVu Sans"}, fonts  # the title too: no Times
    w_pt, h_pt = (float(doc.documentElement.getAttribute(k).rstrip("pt")) for k in ("width", "height"))
    assert 1 / 3 <= w_pt / h_pt <= 3
    # KS-2022-0010 was imported integrated: its path runs from the proposal to integration.
    dot = tmp_path / "ks.dot"
    cli("graph", "KS-2022-0010", "--output", str(dot))
    source = dot.read_text()
    for src, dst in (("proposed", "identified"), ("identified", "verified"), ("verified", "synchronized"),
                     ("synchronized", "signed"), ("signed", "integrated")):
        assert re.search(rf'{src} -> {dst} \[label="[^"]*" color=blue', source), (src, dst)
    print("diagram:", pictures.keep(png, "diagram-ks-2022-0010.png"))


def _events(path):
    with open(path, encoding="utf-8") as fh:
        cal = vobject.readOne(fh.read())
    return list(getattr(cal, "vevent_list", []))


def test_the_calendar_flags_overdue_items_and_reminds_the_day_before_as_vobject_reads_it(doc_env, tmp_path):
    cli = Cli(doc_env, tmp_path)
    ics = tmp_path / "tkksd.ics"
    cli("calendar", "--output", str(ics))
    events = _events(ics)
    assert len(events) > 100
    now = datetime.fromisoformat("2024-05-01T09:00:00+08:00")
    overdue = [e for e in events if e.dtstart.value < now - timedelta(days=1)]
    coming = [e for e in events if e.dtstart.value > now + timedelta(days=1)]
    assert overdue and coming
    for e in overdue:
        assert re.match(r"\[(KS|BMD|DESA)-\d{4}-\d{4}\] TERLAMBAT \d{1,3}(\.\d{3})* hari: ", e.summary.value), e.summary.value
        assert not hasattr(e, "valarm")
    for e in coming:
        assert "TERLAMBAT" not in e.summary.value
        assert e.valarm.trigger.value == timedelta(days=-1) and e.valarm.action.value == "DISPLAY"
        assert "Besok jatuh tempo" in e.valarm.description.value
        assert str(e.dtstart.value.tzinfo) in ("Asia/Makassar", "WITA") or e.dtstart.value.utcoffset() == timedelta(hours=8)
        assert "tkksd " not in e.description.value  # no commands for an OPD head's calendar


def test_calendar_per_opd_writes_one_file_per_opd(doc_env, tmp_path):
    cli = Cli(doc_env, tmp_path)
    folder = tmp_path / "kalender"
    out = cli("calendar", "--per-opd", str(folder))
    files = sorted(folder.glob("*.ics"))
    assert len(files) > 5 and f"{len(files)} berkas kalender ditulis" in out.stdout
    total = 0
    for f in files:
        events = _events(f)
        assert events and all(f"OPD pengampu: {f.stem} (" in e.description.value for e in events)
        total += len(events)
    all_ics = tmp_path / "all.ics"
    cli("calendar", "--output", str(all_ics))
    assert total == len(_events(all_ics))
    both = cli("calendar", "--per-opd", str(folder), "--output", str(all_ics), check=False)
    assert both.returncode == 2 and both.stderr.count("\n") == 1
