"""`tkksd evaluasi buka|status|tutup`: the Sekda's evaluation round over the running agreements."""

from __future__ import annotations

import click

from .common import actor, context, emit_json, table


def _date(value: str | None, option: str):
    if value is None:
        return None
    from engine.errors import InvalidInput
    from workflows.guards import ValueProblem, parse_date

    try:
        return parse_date(value)
    except ValueProblem as exc:
        raise InvalidInput(f"{option} {exc}.") from None


@click.group()
def evaluasi():
    """The evaluation round: every running agreement evaluated by a due date, per OPD.

    The chair opens a round (each OPD head gets one letter listing that OPD's agreements), follows
    it with `status` as the days pass (the daemon reminds the OPDs before the due date and tells
    the chair of late OPDs after it), and closes it with its report.

    \b
    Example:
      tkksd evaluasi buka --due 2027-01-31
      tkksd evaluasi buka --due 2027-01-31 --opd DKP --category KSDD --signed-before 2024-01-01
      tkksd evaluasi status
      tkksd evaluasi tutup --output evaluasi.pdf --output evaluasi.xlsx
    """


@evaluasi.command("buka")
@click.option("--due", "due", required=True, help="Due date of the evaluations (YYYY-MM-DD).")
@click.option("--opd", help="Only this lead OPD's agreements.")
@click.option("--category", help="Only this category (KSDD, KSDPK, KSDPL, KSDLL, SINERGI_IKN, KS_DESA).")
@click.option("--signed-before", "signed_before", help="Only agreements signed before this date (YYYY-MM-DD).")
@click.option("--title", help="The round's title (default: Evaluasi efektivitas dan keberlanjutan ...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def buka(due, opd, category, signed_before, title, as_json):
    """Open an evaluation round (the chair): one letter per OPD head.

    \b
    Example:
      tkksd evaluasi buka --due 2027-01-31
      tkksd evaluasi buka --due 2027-01-31 --opd DKP --signed-before 2024-01-01
    """
    from engine.scheduler.rounds import Filters, open_round

    filters = Filters(opd=opd, category=category.upper() if category else None,
                      signed_before=_date(signed_before, "--signed-before"))
    out = open_round(context(), actor(), due_on=_date(due, "--due"), filters=filters, title=title)
    if as_json:
        emit_json(out)
        return
    click.echo(f"Evaluation round {out['round']} opened: {out['agreements']} agreement(s), due {out['due_on']}; "
               f"{out['letters']} letter(s) to OPD heads in the outbox.")


def _print_status(data) -> None:
    from notifiers.formatting import tanggal
    from datetime import date

    t = data["totals"]
    due = tanggal(date.fromisoformat(data["due_on"]))
    state = "terbuka" if data["status"] == "open" else "ditutup"
    late = f", terlambat {data['days_late']} hari" if data["days_late"] and t["pending"] else ""
    click.echo(f"{data['round']} ({state}), batas {due}{late}: {t['evaluated']} dari {t['agreements']} kerja sama "
               f"dievaluasi; keterkaitan IKN dinilai ulang pada {t['ikn_reassessed']}; "
               f"{t['late_opds']} dari {t['opds']} OPD terlambat")
    rows = [{"opd": o["opd"], "total": o["total"], "evaluated": o["evaluated"], "pending": o["pending"],
             "late": "TERLAMBAT" if o["late"] else "", "score": o["mean_score"] if o["mean_score"] is not None else "",
             "outcomes": ", ".join(f"{k} {n}" for k, n in sorted(o["outcomes"].items()))} for o in data["opds"]]
    table(rows, [("opd", "OPD"), ("total", "TOTAL"), ("evaluated", "DONE"), ("pending", "PENDING"), ("late", "LATE"),
                 ("score", "SCORE"), ("outcomes", "OUTCOMES")])


@evaluasi.command("status")
@click.argument("number", required=False)
@click.option("--output", "outputs", multiple=True, help="Also write the report as it stands: .html, .pdf or .xlsx.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(number, outputs, as_json):
    """Progress of a round (default: the latest) per OPD.

    \b
    Example:
      tkksd evaluasi status
      TKKSD_NOW=2027-02-03 tkksd evaluasi status EV-2026-01 --json
    """
    from engine.inventory.round_report import write
    from engine.scheduler.rounds import progress

    ctx = context()
    data = progress(ctx, number)
    region = ctx.settings.get("general", "region", "Kabupaten Kutai Kartanegara")
    written = [f"{path} ({write(data, path, region).upper()})" for path in outputs]
    if as_json:
        emit_json(data)
        return
    _print_status(data)
    for w in written:
        click.echo(f"Wrote {w}.")


@evaluasi.command("tutup")
@click.argument("number", required=False)
@click.option("--output", "outputs", multiple=True, help="Write the round's report: .html, .pdf or .xlsx (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tutup(number, outputs, as_json):
    """Close a round (the chair) and write its report: per OPD, outcomes, scores, what stays hanging.

    \b
    Example:
      tkksd evaluasi tutup --output evaluasi.pdf --output evaluasi.xlsx
    """
    from engine.errors import InvalidInput
    from engine.inventory.round_report import FORMATS, write
    from engine.scheduler.rounds import close_round
    from pathlib import Path

    for path in outputs:  # refuse a bad name before the round is closed
        if Path(path).suffix.lower().lstrip(".") not in FORMATS:
            raise InvalidInput(f"The round's report is written as .html, .pdf or .xlsx, not '{path}'.")
    ctx = context()
    data = close_round(ctx, actor(), number)
    region = ctx.settings.get("general", "region", "Kabupaten Kutai Kartanegara")
    written = [f"{path} ({write(data, path, region).upper()})" for path in outputs]
    if as_json:
        emit_json({**data, "written": outputs})
        return
    _print_status(data)
    for w in written:
        click.echo(f"Wrote {w}.")
