"""`tkksd evaluasi buka|status|tutup`: the Sekda's evaluation round over the running agreements."""

from __future__ import annotations

import click

from engine.i18n import N_, _

from .common import actor, context, emit_json, table


def _date(value: str | None, option: str):
    if value is None:
        return None
    from engine.errors import InvalidInput
    from workflows.guards import ValueProblem, parse_date

    try:
        return parse_date(value)
    except ValueProblem:
        raise InvalidInput(_("{option} must be a real date as YYYY-MM-DD (for example 2027-01-31), not '{value}'.").format(
            option=option, value=value)) from None


@click.group(help=N_(
    "The evaluation round: every running agreement evaluated by a due date, per OPD.\n\n"
    "The chair opens a round (each OPD head gets one letter listing that OPD's agreements), follows "
    "it with `status` as the days pass (the daemon reminds the OPDs before the due date and tells "
    "the chair of late OPDs after it), and closes it with its report.\n\n"
    "\b\nExample:\n"
    "  tkksd evaluasi buka --due 2027-01-31\n"
    "  tkksd evaluasi buka --due 2027-01-31 --opd DKP --category KSDD --signed-before 2024-01-01\n"
    "  tkksd evaluasi status\n"
    "  tkksd evaluasi tutup --output evaluasi.pdf --output evaluasi.xlsx"))
def evaluasi():
    pass


@evaluasi.command("buka", help=N_(
    "Open an evaluation round (the chair): one letter per OPD head.\n\n"
    "\b\nExample:\n"
    "  tkksd evaluasi buka --due 2027-01-31\n"
    "  tkksd evaluasi buka --due 2027-01-31 --opd DKP --signed-before 2024-01-01"))
@click.option("--due", "due", required=True, help=N_("Due date of the evaluations (YYYY-MM-DD)."))
@click.option("--opd", help=N_("Only this lead OPD's agreements."))
@click.option("--category", help=N_("Only this category (KSDD, KSDPK, KSDPL, KSDLL, SINERGI_IKN, KS_DESA)."))
@click.option("--signed-before", "signed_before", help=N_("Only agreements signed before this date (YYYY-MM-DD)."))
@click.option("--title", help=N_("The round's title (default: Evaluasi efektivitas dan keberlanjutan ...)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def buka(due, opd, category, signed_before, title, as_json):
    from datetime import date

    from engine.i18n import day, number
    from engine.scheduler.rounds import Filters, open_round

    filters = Filters(opd=opd, category=category.upper() if category else None,
                      signed_before=_date(signed_before, "--signed-before"))
    out = open_round(context(), actor(), due_on=_date(due, "--due"), filters=filters, title=title)
    if as_json:
        emit_json(out)
        return
    click.echo(_("Evaluation round {round} opened: {agreements} agreement(s), due {day}; {letters} letter(s) to OPD "
                 "heads in the outbox.").format(round=out["round"], agreements=number(out["agreements"]),
                                                day=day(date.fromisoformat(out["due_on"])), letters=number(out["letters"])))


def _outcomes(outcomes: dict[str, int]) -> str:
    from engine.i18n import language, number
    from engine.inventory.round_report import outcome_label

    return ", ".join(f"{outcome_label(k, language())} {number(n)}" for k, n in sorted(outcomes.items()))


def _print_status(data) -> None:
    from datetime import date

    from engine.i18n import day, number

    from .tables import Column

    t = data["totals"]
    state = _("open") if data["status"] == "open" else _("closed")
    line = (_("{round} ({state}), due {day}, {days} days late: {evaluated} of {agreements} agreements evaluated; "
              "IKN relevance re-assessed in {reassessed}; {late} of {opds} OPDs late") if data["days_late"] and t["pending"] else
            _("{round} ({state}), due {day}: {evaluated} of {agreements} agreements evaluated; "
              "IKN relevance re-assessed in {reassessed}; {late} of {opds} OPDs late"))
    click.echo(line.format(round=data["round"], state=state, day=day(date.fromisoformat(data["due_on"])),
                           days=number(data["days_late"]), evaluated=number(t["evaluated"]),
                           agreements=number(t["agreements"]), reassessed=number(t["ikn_reassessed"]),
                           late=number(t["late_opds"]), opds=number(t["opds"])))
    rows = [{"opd": o["opd"], "total": number(o["total"]), "evaluated": number(o["evaluated"]),
             "pending": number(o["pending"]), "late": _("LATE") if o["late"] else "",
             "score": number(o["mean_score"]) if o["mean_score"] is not None else "",
             "outcomes": _outcomes(o["outcomes"])} for o in data["opds"]]
    table(rows, [Column("opd", "OPD", keep=True), Column("total", _("Agreements"), right=True),
                 Column("evaluated", _("Evaluated"), right=True), Column("pending", _("Pending"), right=True),
                 Column("late", _("Late")), Column("score", _("Average score"), right=True),
                 Column("outcomes", _("Outcomes"), wide=True)])


def _write_reports(ctx, data, outputs) -> list[str]:
    """Each --output written; the lines that say so."""
    from engine.inventory.round_report import write

    region = ctx.settings.get("general", "region", "Kabupaten Kutai Kartanegara")
    return [_("Wrote {path} ({format}).").format(path=path, format=write(data, path, region, ctx.lang, ctx.settings.timezone).upper())
            for path in outputs]


@evaluasi.command("status", help=N_(
    "Progress of a round (default: the latest) per OPD.\n\n"
    "\b\nExample:\n"
    "  tkksd evaluasi status\n"
    "  TKKSD_NOW=2027-02-03 tkksd evaluasi status EV-2026-01 --json"))
@click.argument("number", required=False)
@click.option("--output", "outputs", multiple=True, help=N_("Also write the report as it stands: .html, .pdf or .xlsx."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def status(number, outputs, as_json):
    from engine.inventory.round_report import check_name
    from engine.scheduler.rounds import progress

    for path in outputs:
        check_name(path)
    ctx = context()
    data = progress(ctx, number)
    written = _write_reports(ctx, data, outputs)
    if as_json:
        emit_json(data)
        return
    _print_status(data)
    for w in written:
        click.echo(w)


@evaluasi.command("tutup", help=N_(
    "Close a round (the chair) and write its report: per OPD, outcomes, scores, what stays hanging.\n\n"
    "\b\nExample:\n"
    "  tkksd evaluasi tutup --output evaluasi.pdf --output evaluasi.xlsx"))
@click.argument("number", required=False)
@click.option("--output", "outputs", multiple=True, help=N_("Write the round's report: .html, .pdf or .xlsx (repeatable)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def tutup(number, outputs, as_json):
    from engine.inventory.round_report import check_name
    from engine.scheduler.rounds import close_round

    for path in outputs:  # refuse a bad name before the round is closed
        check_name(path)
    ctx = context()
    data = close_round(ctx, actor(), number)
    written = _write_reports(ctx, data, outputs)
    if as_json:
        emit_json({**data, "written": outputs})
        return
    _print_status(data)
    for w in written:
        click.echo(w)
