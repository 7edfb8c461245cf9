"""The `tkksd` command line. Commands are imported only when they run, so `tkksd --help`
loads click and nothing else (no SQLAlchemy, APScheduler, jinja2 or aiosmtplib)."""

from __future__ import annotations

import importlib
import os
import sys

import click

from engine.i18n import N_

# name -> (module, attribute, one-line help). Listing help here keeps `--help` from importing
# any command module; the help is marked N_ here and translated when it is shown.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("engine.cli.core", "init", N_("Create or upgrade the database and load the OPD directory.")),
    "user": ("engine.cli.core", "user", N_("Add and list users and their roles.")),
    "opd": ("engine.cli.core", "opd", N_("List the OPD directory.")),
    "add": ("engine.cli.core", "add", N_("Register a new agreement.")),
    "list": ("engine.cli.core", "list_", N_("List agreements, filtered by state, OPD or workflow.")),
    "show": ("engine.cli.core", "show", N_("Show one agreement.")),
    "events": ("engine.cli.core", "events", N_("What may happen next to an agreement and what each event needs.")),
    "fire": ("engine.cli.core", "fire", N_("Fire an event on an agreement (move it a step).")),
    "history": ("engine.cli.core", "history", N_("The history of an agreement, oldest first.")),
    "audit": ("engine.cli.core", "audit", N_("Verify the hash-chained history.")),
    "daemon": ("engine.cli.time_cmds", "daemon", N_("Run the scheduler: due deadlines, outbox, digests (--once: one pass).")),
    "status": ("engine.cli.time_cmds", "status", N_("The daemons' heartbeats and what is due now.")),
    "doctor": ("engine.cli.time_cmds", "doctor", N_("Check that no agreement is left hanging, and other inconsistencies.")),
    "due": ("engine.cli.time_cmds", "due", N_("What falls due and what is overdue, with who is responsible.")),
    "simulate": ("engine.cli.time_cmds", "simulate", N_("Dry run of the scheduler until a date; writes nothing.")),
    "outbox": ("engine.cli.mail_cmds", "outbox", N_("The e-mail outbox: list, show, retry, purge.")),
    "mail": ("engine.cli.mail_cmds", "mail", N_("Send a test e-mail through the configured transport.")),
    "workflow": ("engine.cli.workflow_cmds", "workflow", N_("Workflow definitions and versions: list, show, check, migrate.")),
    "import": ("engine.cli.inventory_cmds", "import_", N_("Import agreements from CSV/XLSX (--dry-run checks every row; --template).")),
    "export": ("engine.cli.inventory_cmds", "export", N_("Export agreements to CSV/XLSX (the format import reads).")),
    "demo": ("engine.cli.inventory_cmds", "demo", N_("Load the demo inventory of Kukar's agreements (sample data).")),
    "report": ("engine.cli.inventory_cmds", "report", N_("Inventory report: counts, hanging agreements, what falls due (text/html/json/xlsx).")),
    "graph": ("engine.cli.inventory_cmds", "graph", N_("Draw a workflow, or an agreement's path through it (svg/png/dot/mmd).")),
    "calendar": ("engine.cli.inventory_cmds", "calendar", N_("Pending deadlines as an iCalendar (.ics) file.")),
    "evaluasi": ("engine.cli.evaluation_cmds", "evaluasi", N_("The Sekda's evaluation round: buka (open), status, tutup (close, with its report).")),
    "wilayah": ("engine.cli.wilayah_cmds", "wilayah", N_("Kecamatan, kelurahan and desa with their IKN delineation status.")),
    "potensi": ("engine.cli.wilayah_cmds", "potensi", N_("The register of potential cooperation with IKN: add, list, show, status, promote, export.")),
    "completion": ("engine.cli.completion", "completion", N_("Print the shell completion script (bash, zsh, fish).")),
}


def translate_help(command: click.Command) -> click.Command:
    """Put a command's help texts (marked ``N_`` where they are declared) into the reader's
    language. Declarations run at import, before the language may be known, so the texts are
    translated here, when a command is looked up to run or to show its help; the language is
    one per process, so translating in place once is enough."""
    from engine.i18n import _

    if getattr(command, "tkksd_translated", False):
        return command
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr, None)
        if text:
            setattr(command, attr, _(text))
    for param in command.params:
        if getattr(param, "help", None):
            param.help = _(param.help)
    for sub in getattr(command, "commands", {}).values():
        translate_help(sub)
    command.tkksd_translated = True
    return command


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _help = COMMANDS[name]
        return translate_help(getattr(importlib.import_module(module), attr))

    def resolve_command(self, ctx, args):
        """An unknown command is refused with the closest names (exit 2), not just "no such command"."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            from engine.errors import did_you_mean
            from engine.i18n import _

            raise click.UsageError(_("No such command '{name}'{hint}; `tkksd --help` lists them.").format(
                name=name, hint=did_you_mean(name, list(COMMANDS))), ctx)
        return super().resolve_command(ctx, args)

    def format_help(self, ctx, formatter):
        translate_help(self)
        super().format_help(ctx, formatter)

    def format_commands(self, ctx, formatter):
        from engine.i18n import _

        rows = [(name, _(COMMANDS[name][2])) for name in sorted(COMMANDS)]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             help=N_("tkksd: the lifecycle of regional cooperation agreements (kerja sama daerah) for the TKKSD.\n\n"
                     "Every agreement moves identify -> verify -> synchronize -> integrate, then through periodic "
                     "evaluation. The acting user is your login (or TKKSD_USER); TKKSD_NOW sets the clock; "
                     "TKKSD_DATABASE_URL picks the database; TKKSD_LANGUAGE=en speaks English.\n\n"
                     "\b\nExample:\n"
                     "  tkksd init\n"
                     "  tkksd add --title \"KB Ketahanan Pangan\" --partner \"Otorita IKN\" --opd DKP\n"
                     "  tkksd events KS-2026-0001"))
@click.version_option("0.1.0", prog_name="tkksd")
def cli():
    pass


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure is one sentence on stderr and a non-zero exit, no traceback."""
    from engine import i18n

    from .common import configure_logging, report_failure, undecodable_argument

    # The language before anything is said; the settings file may change it once it is read.
    i18n.use(os.environ.get("TKKSD_LANGUAGE") or i18n.DEFAULT_LANGUAGE)
    configure_logging()
    bad = undecodable_argument(sys.argv[1:] if argv is None else argv)
    if bad is not None:
        click.echo(i18n._("Error: {message}").format(
            message=i18n._("the argument '{argument}' is not valid UTF-8 text; nothing was changed.").format(argument=bad)), err=True)
        sys.exit(2)
    try:
        rv = cli.main(args=argv, prog_name="tkksd", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(i18n._("Error: {message}").format(message=exc.format_message()), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo(i18n._("Aborted!"), err=True)
        sys.exit(1)
    except BaseException as exc:  # noqa: BLE001 - the last line of defence
        if isinstance(exc, SystemExit):
            raise
        sys.exit(report_failure(exc))
    sys.exit(rv if isinstance(rv, int) else 0)
