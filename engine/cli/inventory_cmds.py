"""Inventory commands: import, export, demo, report, graph, calendar."""

from __future__ import annotations

from pathlib import Path

import click

from engine.outputs import atomic_output

from .common import actor, context, emit_json, opd_filter

DEMO_FILE = Path(__file__).resolve().parents[2] / "config" / "demo" / "inventory.csv"
DEMO_NOTE = "demo inventory (sample data)"


def _print_problems(result, limit: int = 200) -> None:
    for p in result.problems[:limit]:
        click.echo(f"  {p.sentence()}", err=True)
    if len(result.problems) > limit:
        click.echo(f"  ... and {len(result.problems) - limit} more (use --json to see them all).", err=True)


def _progress_on_tty(as_json: bool):
    """A one-line progress display on a terminal (rows checked of all); nothing otherwise."""
    import sys

    if as_json or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        click.echo(f"\rchecking rows: {done:,} of {total:,} ({done * 100 // max(total, 1)}%)" + end, err=True, nl=False)

    return show


@click.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would change; write nothing.")
@click.option("--template", "template", default=None, type=click.Path(dir_okay=False),
              help="Write an empty XLSX template (headers, notes, drop-down lists) to this file instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def import_(file, dry_run, template, as_json):
    """Import agreements from a CSV or XLSX sheet (the format `tkksd export` writes).

    Every row is checked first; each problem is printed as row, column and a sentence, and
    if any row is bad nothing is written. Importing the same file again changes nothing; a
    changed row updates its agreement with its own history entry (docs/import.md).

    \b
    Example:
      tkksd import --template templat-kerja-sama.xlsx
      tkksd import daftar-kerja-sama.xlsx --dry-run
      tkksd import daftar-kerja-sama.xlsx
    """
    from engine.inventory.exporting import write_template
    from engine.inventory.importing import ImportRefused, import_file

    ctx = context()
    if template:
        with atomic_output(ctx.settings, template) as tmp:
            keys = write_template(ctx, tmp)
        if as_json:
            emit_json({"template": template, "columns": keys})
        else:
            click.echo(f"Wrote the import template {template} ({len(keys)} columns, with notes and drop-down lists).")
        return
    if not file:
        raise click.UsageError("give the FILE to import, or --template FILE.xlsx")
    try:
        from engine.store.waiting import announce

        with announce(ctx.engine, "import", f"an import of {Path(file).name} by {actor()}"):
            result = import_file(ctx, file, actor(), dry_run=dry_run, progress=_progress_on_tty(as_json))
    except ImportRefused as exc:
        if as_json:
            emit_json({"file": file, "dry_run": False, "written": False, "problems": [p.as_dict() for p in exc.problems]})
        else:
            for p in exc.problems[:200]:
                click.echo(f"  {p.sentence()}", err=True)
        raise
    if as_json:
        emit_json({**result.as_dict(), "written": not dry_run and not result.problems})
        if result.problems:
            raise SystemExit(2)
        return
    if result.problems:
        click.echo(f"{Path(file).name}: {len(result.problems)} problem(s) in {len({p.row for p in result.problems})} row(s); "
                   "nothing would be imported:", err=True)
        _print_problems(result)
        raise SystemExit(2)
    verb = "would add" if dry_run else "added"
    click.echo(
        f"{Path(file).name}: {result.rows} row(s) checked; {verb} {len(result.added)}, "
        f"{'would update' if dry_run else 'updated'} {len(result.updated)}, {result.unchanged} unchanged"
        + (" (dry run: nothing written)." if dry_run else ".")
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--workflow", default=None, help="Only agreements of this workflow.")
@click.option("--opd", default=None, help="Only agreements of this lead OPD.")
@click.option("--state", default=None, help="Only agreements in this state.")
def export(file, workflow, opd, state):
    """Export agreements to CSV or XLSX, in the format `tkksd import` reads.

    \b
    Example:
      tkksd export daftar-kerja-sama.xlsx
      tkksd export dkp.csv --opd DKP
    """
    from engine.inventory.exporting import export_file

    ctx = context()
    with atomic_output(ctx.settings, file) as tmp:
        n = export_file(ctx, tmp, workflow=workflow, opd=opd_filter(ctx, opd), state=state)
    click.echo(f"Exported {n} agreement(s) to {file}.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def demo(as_json):
    """Load the demo inventory: SAMPLE DATA modelled on Kukar's 210 agreements of 2020 to April 2024.

    Safe to run again: a second run changes nothing. The agreements, numbers and dates are
    invented (scripts/make_demo_inventory.py generates them); partners, fields and OPDs are real.

    \b
    Example:
      tkksd init && tkksd demo && tkksd report
    """
    from engine.inventory.importing import import_file

    ctx = context()
    result = import_file(ctx, DEMO_FILE, actor(), source="config/demo/inventory.csv", note_extra=DEMO_NOTE)
    if as_json:
        emit_json({**result.as_dict(), "sample_data": True})
        return
    click.echo(
        f"Demo inventory (SAMPLE DATA, not official records): {len(result.added)} agreement(s) added, "
        f"{len(result.updated)} updated, {result.unchanged} already there."
    )
    if result.added:
        click.echo("Try: tkksd list, tkksd report, tkksd due, tkksd graph KS-2022-0010 --output ks.svg")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "html", "json", "xlsx"]), default=None,
              help="Output format (default: from --output's extension, else text).")
@click.option("--output", "output", default=None, type=click.Path(dir_okay=False), help="Write to this file.")
@click.option("--days", default=90, show_default=True, help="Horizon of 'falls due soon'.")
def report(fmt, output, days):
    """The inventory report for the TKKSD: counts, hanging agreements, what falls due, follow-up rate.

    \b
    Example:
      tkksd report
      tkksd report --output laporan-tkksd.html
      tkksd report --format json
      TKKSD_NOW=2024-05-01 tkksd report --format xlsx --output laporan.xlsx
    """
    from engine.inventory import reports
    from engine.errors import InvalidInput

    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = {"html": "html", "htm": "html", "json": "json", "xlsx": "xlsx", "txt": "text"}.get(suffix, "text")
    if fmt == "xlsx" and not output:
        raise InvalidInput("The xlsx report needs --output FILE.xlsx.")
    ctx = context()
    if opd_filter(ctx, None) is not None:
        from engine.errors import PermissionDenied

        raise PermissionDenied("The inventory report covers every OPD, and reading is limited to your own OPD "
                               "(access.read_all = false); use `tkksd list` or `tkksd export --opd`.")
    data = reports.build(ctx, horizon_days=days)
    if fmt == "xlsx":
        with atomic_output(ctx.settings, output) as tmp:
            reports.write_xlsx(data, tmp)
        click.echo(f"Wrote the report to {output}.")
        return
    text = {"text": reports.render_text, "html": reports.render_html, "json": reports.render_json}[fmt](data)
    if output:
        with atomic_output(ctx.settings, output) as tmp:
            tmp.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the report to {output}.")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.command()
@click.argument("ref", required=False)
@click.option("--workflow", default=None, help="Workflow name (default: the agreement's, else kerja-sama).")
@click.option("--version", "version", type=int, default=None, help="Workflow version (default: latest).")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False),
              help="FILE.svg or FILE.png (needs Graphviz's dot), FILE.dot, or FILE.mmd (Mermaid, needs nothing).")
def graph(ref, workflow, version, output):
    """Draw a workflow: states with their labels, events with the roles that fire them.

    With an agreement id, its current state and the path it took are highlighted.

    \b
    Example:
      tkksd graph --output kerja-sama.svg
      tkksd graph --workflow pemanfaatan-bmd --output bmd.mmd
      tkksd graph KS-2022-0010 --output ks-2022-0010.png
    """
    from engine.inventory import graphs

    ctx = context()
    with atomic_output(ctx.settings, output) as tmp:
        graphs.draw(ctx, tmp, ref=ref, workflow=workflow, version=version)
    click.echo(f"Wrote {output}.")


@click.command()
@click.option("--opd", default=None, help="Only deadlines of agreements this OPD leads.")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False), help="FILE.ics to write.")
@click.option("--days", default=None, type=int, help="Only deadlines due within this many days (default: all pending).")
def calendar(opd, output, days):
    """Pending deadlines as an iCalendar file (Asia/Makassar) for any calendar program.

    \b
    Example:
      tkksd calendar --output tkksd.ics
      tkksd calendar --opd DKP --output dkp.ics
    """
    from engine.inventory import calendars

    ctx = context()
    with atomic_output(ctx.settings, output) as tmp:
        n = calendars.write(ctx, tmp, opd=opd_filter(ctx, opd), days=days)
    click.echo(f"Wrote {n} deadline(s) to {output}.")
