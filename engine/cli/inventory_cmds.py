"""Inventory commands: import, export, demo, report, graph, calendar."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from engine.i18n import N_, _
from engine.store.outputs import atomic_output

from .common import actor, context, emit_json, opd_filter

DEMO_FILE = Path(__file__).resolve().parents[2] / "config" / "demo" / "inventory.csv"
DEMO_NOTE = "demo inventory (sample data)"


def _print_problems(problems, total: int, lang: str, limit: int = 200) -> None:
    for p in problems[:limit]:
        click.echo(f"  {p.sentence(lang)}", err=True)
    if total > min(limit, len(problems)):
        more = total - min(limit, len(problems))
        click.echo("  " + _say(lang, f"... dan {more:,} lagi (--json memuat {len(problems):,} yang pertama).",
                               f"... and {more:,} more (--json lists the first {len(problems):,})."), err=True)


def _say(lang: str, indonesian: str, english: str) -> str:
    return english if lang == "en" else indonesian


@contextlib.contextmanager
def _progress_bar(as_json: bool, lang: str, dry_run: bool):
    """A progress bar on stderr while rows are checked and written (rows done of all, time
    left), drawn by rich, when stderr is a terminal; None (nothing drawn) otherwise."""
    if as_json or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    label = _say(lang, "Memeriksa baris" if dry_run else "Mengimpor baris", "Checking rows" if dry_run else "Importing rows")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)

        def show(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield show


def _summary(name: str, result, dry_run: bool, lang: str) -> str:
    if lang == "en":
        kept = f", {result.conflict_count} conflict(s)" + ("" if dry_run else " left as they are") if result.conflict_count else ""
        return (f"{name}: {result.rows} row(s) checked; {'would add' if dry_run else 'added'} {result.added}, "
                f"{'would update' if dry_run else 'updated'} {result.updated}, {result.unchanged} unchanged{kept}"
                + (" (dry run: nothing written)." if dry_run else "."))
    kept = f", {result.conflict_count} konflik" + ("" if dry_run else " dibiarkan apa adanya") if result.conflict_count else ""
    return (f"{name}: {result.rows} baris diperiksa; {'akan ditambahkan' if dry_run else 'ditambahkan'} {result.added}, "
            f"{'akan diperbarui' if dry_run else 'diperbarui'} {result.updated}, {result.unchanged} tidak berubah{kept}"
            + (" (uji coba: tidak ada yang disimpan)." if dry_run else "."))


@click.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would change; write nothing.")
@click.option("--template", "template", default=None, type=click.Path(dir_okay=False),
              help="Write an empty XLSX template (headers, notes, drop-down lists) to this file instead.")
@click.option("--skip-conflicts", is_flag=True,
              help="Import the other rows when some would rewind an agreement or overwrite what changed in tkksd since.")
@click.option("--workflow", "workflow", default=None,
              help="With --template: only this workflow's columns and drop-down choices (one template per workflow).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def import_(file, dry_run, template, skip_conflicts, workflow, as_json):
    """Import agreements from a CSV or XLSX sheet (the format `tkksd export` writes).

    Every row is checked first; each problem is printed as row, column and a sentence, and
    if any row is bad nothing is written. Importing the same file again changes nothing; a
    changed row updates its agreement with its own history entry (docs/import.md). A row that
    would move its agreement backwards, or overwrite what changed in tkksd since it was
    imported, is a conflict: nothing is written, unless --skip-conflicts (those rows are left alone).

    \b
    Example:
      tkksd import --template templat-kerja-sama.xlsx --workflow kerja-sama
      tkksd import daftar-kerja-sama.xlsx --dry-run
      tkksd import daftar-kerja-sama.xlsx
    """
    from engine.errors import ImportConflicts, ImportRefused
    from engine.inventory.exporting import write_template
    from engine.inventory.importing import import_file

    ctx = context()
    if template:
        with atomic_output(ctx.settings, template) as tmp:
            keys = write_template(ctx, tmp, workflow=workflow)
        if as_json:
            emit_json({"template": template, "columns": keys})
        else:
            click.echo(f"Wrote the import template {template} ({len(keys)} columns, with notes and drop-down lists).")
        return
    if not file:
        raise click.UsageError("give the FILE to import, or --template FILE.xlsx")
    try:
        from engine.store.waiting import announce

        with announce(ctx.engine, "import", f"an import of {Path(file).name} by {actor()}"), \
                _progress_bar(as_json, ctx.lang, dry_run) as progress:
            result = import_file(ctx, file, actor(), dry_run=dry_run, skip_conflicts=skip_conflicts, progress=progress)
    except (ImportRefused, ImportConflicts) as exc:
        key = "conflicts" if isinstance(exc, ImportConflicts) else "problems"
        if as_json:
            emit_json({"file": file, "dry_run": False, "written": False, key: [p.as_dict() for p in exc.problems],
                       f"{key[:-1]}_count": exc.total})
        else:
            _print_problems(exc.problems, exc.total, ctx.lang)
        raise
    if as_json:
        emit_json({**result.as_dict(), "written": not dry_run and not result.problem_count})
        if result.problem_count:
            raise SystemExit(2)
        return
    name = Path(file).name
    if result.problem_count:
        click.echo(_say(ctx.lang, f"{name}: {result.problem_count} masalah di {result.problem_rows} baris; tidak ada yang akan diimpor:",
                        f"{name}: {result.problem_count} problem(s) in {result.problem_rows} row(s); nothing would be imported:"),
                   err=True)
        _print_problems(result.problems, result.problem_count, ctx.lang)
        raise SystemExit(2)
    click.echo(_summary(name, result, dry_run, ctx.lang))
    _print_problems(result.conflicts, result.conflict_count, ctx.lang)


def _export_progress():
    """A progress bar on stderr while a terminal watches (rich); None into a pipe or a file."""
    import sys

    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(file=sys.stderr), transient=True)


@click.command(help=N_(
    "Export agreements to CSV or XLSX, in the format `tkksd import` reads.\n\n"
    "\b\nExample:\n"
    "  tkksd export daftar-kerja-sama.xlsx\n"
    "  tkksd export dkp.csv --opd DKP"))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--workflow", default=None, help=N_("Only agreements of this workflow."))
@click.option("--opd", default=None, help=N_("Only agreements of this lead OPD."))
@click.option("--state", default=None, help=N_("Only agreements in this state."))
def export(file, workflow, opd, state):
    from engine.i18n import number
    from engine.inventory.exporting import export_file
    from engine.lifecycle.filters import check_filters

    ctx = context()
    check_filters(ctx, state=state, opd=opd, workflow=workflow)
    bar = _export_progress()
    with atomic_output(ctx.settings, file) as tmp:
        if bar is None:
            n = export_file(ctx, tmp, workflow=workflow, opd=opd_filter(ctx, opd), state=state)
        else:
            with bar:
                task = bar.add_task(_("Writing rows"), total=None)
                n = export_file(ctx, tmp, workflow=workflow, opd=opd_filter(ctx, opd), state=state,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))
    click.echo(_("Exported {count} agreement(s) to {file}.").format(count=number(n), file=file))


@click.command(help=N_(
    "Load the demo inventory: SAMPLE DATA modelled on Kukar's 210 agreements of 2020 to April 2024.\n\n"
    "Safe to run again: a second run changes nothing, not even after the daemon moved agreements "
    "on (an agreement changed since the demo was loaded is left as it is). The agreements, numbers and dates are "
    "invented (scripts/make_demo_inventory.py generates them); partners, fields and OPDs are real.\n\n"
    "\b\nExample:\n"
    "  tkksd init && tkksd demo && tkksd report"))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def demo(as_json):
    from engine.i18n import number
    from engine.inventory.importing import import_file
    from engine.inventory.potensi import load_file

    ctx = context()
    result = import_file(ctx, DEMO_FILE, actor(), source="config/demo/inventory.csv", note_extra=DEMO_NOTE,
                         skip_conflicts=True)
    potensi_added, _already = load_file(ctx, actor(), DEMO_FILE.with_name("potensi.csv"))  # OIKN's inventory
    if as_json:
        emit_json({**result.as_dict(), "sample_data": True, "potensi_added": potensi_added})
        return
    there = number(result.unchanged + result.conflict_count)
    moved = (" " + _("({count} moved on in tkksd since, left as they are)").format(count=number(result.conflict_count))
             if result.conflict_count else "")
    click.echo(_("Demo inventory (SAMPLE DATA, not official records): {added} agreement(s) added, {updated} updated, "
                 "{there} already there{moved}; {potensi} potential cooperation with IKN added.").format(
        added=number(result.added), updated=number(result.updated), there=there, moved=moved,
        potensi=number(potensi_added)))
    if result.added:
        click.echo(_("Try: tkksd list, tkksd report, tkksd due, tkksd graph KS-2022-0010 --output ks.svg"))


@click.command(help=N_(
    "The inventory report for the TKKSD: counts, hanging agreements, what falls due, follow-up rate.\n\n"
    "\b\nExample:\n"
    "  tkksd report\n"
    "  tkksd report --output laporan-tkksd.html\n"
    "  tkksd report --output laporan-tkksd.pdf       (A4, for printing)\n"
    "  tkksd report --format json\n"
    "  TKKSD_NOW=2024-05-01 tkksd report --format xlsx --output laporan.xlsx"))
@click.option("--format", "fmt", type=click.Choice(["text", "html", "pdf", "json", "xlsx"]), default=None,
              help=N_("Output format (default: from --output's extension, else text)."))
@click.option("--output", "output", default=None, type=click.Path(dir_okay=False), help=N_("Write to this file."))
@click.option("--days", default=90, show_default=True, help=N_("Horizon of 'falls due soon'."))
def report(fmt, output, days):
    from engine.inventory import reports
    from engine.errors import InvalidInput

    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = {"html": "html", "htm": "html", "pdf": "pdf", "json": "json", "xlsx": "xlsx", "txt": "text"}.get(suffix, "text")
    if fmt in ("xlsx", "pdf") and not output:
        raise InvalidInput(_("The {format} report needs --output FILE.{format}.").format(format=fmt))
    ctx = context()
    if opd_filter(ctx, None) is not None:
        from engine.errors import PermissionDenied

        raise PermissionDenied(_("The inventory report covers every OPD, and reading is limited to your own OPD "
                                 "(access.read_all = false); use `tkksd list` or `tkksd export --opd`."))
    data = reports.build(ctx, horizon_days=days)
    wrote = _("Wrote the report to {file}.")
    if fmt == "pdf":
        reports.write_pdf(data, output)
        click.echo(wrote.format(file=output))
        return
    if fmt == "xlsx":
        with atomic_output(ctx.settings, output) as tmp:
            reports.write_xlsx(data, tmp)
        click.echo(wrote.format(file=output))
        return
    text = {"text": reports.render_text, "html": reports.render_html, "json": reports.render_json}[fmt](data)
    if output:
        with atomic_output(ctx.settings, output) as tmp:
            tmp.write_text(text, encoding="utf-8")
        click.echo(wrote.format(file=output))
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.command(help=N_(
    "Draw a workflow: steps with their labels, events with the roles that fire them.\n\n"
    "With an agreement id, its current step and the path it took are highlighted.\n\n"
    "\b\nExample:\n"
    "  tkksd graph --output kerja-sama.svg\n"
    "  tkksd graph --workflow pemanfaatan-bmd --output bmd.mmd\n"
    "  tkksd graph KS-2022-0010 --output ks-2022-0010.png"))
@click.argument("ref", required=False)
@click.option("--workflow", default=None, help=N_("Workflow name (default: the agreement's, else kerja-sama)."))
@click.option("--version", "version", type=int, default=None, help=N_("Workflow version (default: latest)."))
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False),
              help=N_("FILE.svg or FILE.png (needs Graphviz's dot), FILE.dot, or FILE.mmd (Mermaid, needs nothing)."))
def graph(ref, workflow, version, output):
    from engine.inventory import graphs

    ctx = context()
    with atomic_output(ctx.settings, output) as tmp:
        graphs.draw(ctx, tmp, ref=ref, workflow=workflow, version=version)
    click.echo(_("Wrote {file}.").format(file=output))


@click.command(help=N_(
    "Pending deadlines as an iCalendar file (Asia/Makassar) for any calendar program.\n\n"
    "Overdue deadlines say TERLAMBAT in their title; each coming one has a reminder the day before.\n\n"
    "\b\nExample:\n"
    "  tkksd calendar --output tkksd.ics\n"
    "  tkksd calendar --opd DKP --output dkp.ics\n"
    "  tkksd calendar --per-opd kalender-opd/"))
@click.option("--opd", default=None, help=N_("Only deadlines of agreements this OPD leads."))
@click.option("--output", "output", default=None, type=click.Path(dir_okay=False), help=N_("FILE.ics to write."))
@click.option("--per-opd", "per_opd", default=None, type=click.Path(file_okay=False),
              help=N_("Write one FOLDER/<OPD>.ics per lead OPD instead of one file."))
@click.option("--days", default=None, type=int, help=N_("Only deadlines due within this many days (default: all pending)."))
def calendar(opd, output, per_opd, days):
    from engine.errors import InvalidInput
    from engine.i18n import number
    from engine.inventory import calendars

    if bool(output) == bool(per_opd):
        raise InvalidInput(_("Give either --output FILE.ics or --per-opd FOLDER."))
    ctx = context()
    if per_opd:
        if opd:
            raise InvalidInput(_("--per-opd writes every OPD's file; leave out --opd."))
        folder = Path(per_opd)
        if folder.exists() and not folder.is_dir():
            raise InvalidInput(_("'{folder}' is a file; --per-opd needs a folder.").format(folder=folder))
        if not folder.parent.is_dir():
            raise InvalidInput(_("The folder {folder} does not exist; create it first.").format(folder=folder.parent))
        folder.mkdir(exist_ok=True)
        written = calendars.per_opd(ctx, days=days)
        for code, (ics, _count) in written.items():
            with atomic_output(ctx.settings, folder / f"{code}.ics") as tmp:
                tmp.write_bytes(ics)
        total = sum(n for _ics, n in written.values())
        click.echo(_("Wrote {files} calendar file(s) to {folder} ({deadlines} deadline(s)).").format(
            files=number(len(written)), folder=per_opd, deadlines=number(total)))
        return
    with atomic_output(ctx.settings, output) as tmp:
        n = calendars.write(ctx, tmp, opd=opd_filter(ctx, opd), days=days)
    click.echo(_("Wrote {count} deadline(s) to {file}.").format(count=number(n), file=output))
