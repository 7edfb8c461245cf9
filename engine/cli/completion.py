"""Shell completion: `tkksd completion bash|zsh|fish` prints the script, and the callbacks below
complete agreement ids, event names and OPD codes from the database.

A completion runs on every Tab press, so each callback is quiet and forgiving: anything that goes
wrong (no database yet, a locked file, a bad setting) completes nothing rather than printing an
error into the user's command line.
"""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import CompletionItem, get_completion_class

from engine.i18n import N_

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_TKKSD_COMPLETE"


def script_for(shell: str) -> str:
    """The completion script click generates for ``shell`` (bash needs 4.4 or newer)."""
    from engine.cli import cli

    cls = get_completion_class(shell)
    return cls(cli, {}, "tkksd", COMPLETE_VAR).source()


def _read(fn):
    """Run ``fn(ctx, conn)`` against the configured database, or give [] on any failure."""
    try:
        from engine.cli.common import context
        from engine.store import db

        ctx = context(check_schema=False)
        url = ctx.engine.url
        if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
            return []  # no database yet: nothing to complete, and connecting would create the file
        try:
            with db.read(ctx.engine) as conn:
                return fn(ctx, conn)
        finally:
            ctx.engine.dispose()
    except Exception:  # noqa: BLE001 - completion must never break the user's shell line
        return []


def agreement_ids(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    import sqlalchemy as sa

    from engine.store.tables import agreements

    def query(_c, conn):
        rows = conn.execute(
            sa.select(agreements.c.number, agreements.c.title)
            .where(agreements.c.number.like(f"{incomplete.upper()}%"))
            .order_by(agreements.c.number)
            .limit(200)
        ).all()
        return [CompletionItem(r.number, help=r.title[:60]) for r in rows]

    return _read(query)


def event_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The events the agreement named before this argument can take now (all of its workflow's
    events when none is named yet or it is unknown)."""
    ref = (ctx.params or {}).get("ref")

    def query(c, conn):
        from engine.lifecycle.machine import allowed_events
        from engine.lifecycle.services import definition_of, find_agreement

        if not ref:
            names = sorted({e.name for d in c.registry.all() for e in d.events})
            return [CompletionItem(n) for n in names if n.startswith(incomplete)]
        row = find_agreement(conn, ref)
        defn = definition_of(c, row)
        names = allowed_events(defn, row.lifecycle_state)
        return [CompletionItem(n, help=defn.event(n).label.get(c.lang) or "") for n in names if n.startswith(incomplete)]

    return _read(query)


def opd_codes(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    import sqlalchemy as sa

    from engine.store.tables import opds

    def query(_c, conn):
        rows = conn.execute(
            sa.select(opds.c.code, opds.c.name)
            .where(opds.c.active.is_(True), opds.c.code.like(f"{incomplete.upper()}%"))
            .order_by(opds.c.code)
        ).all()
        return [CompletionItem(r.code, help=r.name[:60]) for r in rows]

    return _read(query)


@click.command(help=N_("Print the shell completion script for SHELL: Tab then completes commands, agreement ids, "
                       "event names and OPD codes.\n\n"
                       "\b\nExample:\n"
                       "  eval \"$(tkksd completion bash)\"        # in ~/.bashrc\n"
                       "  eval \"$(tkksd completion zsh)\"         # in ~/.zshrc\n"
                       "  tkksd completion fish > ~/.config/fish/completions/tkksd.fish"))
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    click.echo(script_for(shell))
