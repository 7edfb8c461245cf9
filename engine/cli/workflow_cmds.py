"""`tkksd workflow`: the installed workflow definitions and their versions; checked migrations."""

from __future__ import annotations

import click

from .common import actor, emit_json, table


def _settings():
    from config.settings import SettingsError, load
    from engine.errors import ConfigurationError

    try:
        return load()
    except SettingsError as exc:
        raise ConfigurationError(f"{exc}.") from None


def _registry_context(check_schema: bool = False):
    from engine.bootstrap import bootstrap

    return bootstrap(check_schema=check_schema, with_hooks=False)


@click.group()
def workflow():
    """Workflow definitions: list, show, check; move running agreements to a newer version.

    A definition is a TOML file (workflows/definitions/, plus the folders in the setting
    general.workflow_dirs). A changed definition is a new version; every agreement keeps the
    version it was created under until `tkksd workflow migrate` moves it.

    \b
    Example:
      tkksd workflow list
      tkksd workflow show pemanfaatan-bmd
      tkksd workflow check ./kerja-sama.v2.toml
      tkksd workflow migrate kerja-sama --from 1 --to 2 --dry-run
    """


@workflow.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json):
    """The installed workflows, their versions, and how many agreements run under each.

    \b
    Example:
      tkksd workflow list
      tkksd workflow list --json
    """
    import sqlalchemy as sa

    from engine.store import db
    from engine.errors import DatabaseNotReady
    from engine.store.tables import agreements

    ctx = _registry_context()
    counts: dict[tuple[str, int], dict[str, int]] | None = {}
    try:
        db.check_schema(ctx.engine)
        with db.read(ctx.engine) as conn:
            rows = conn.execute(
                sa.select(agreements.c.workflow, agreements.c.workflow_version, agreements.c.lifecycle_state, sa.func.count())
                .group_by(agreements.c.workflow, agreements.c.workflow_version, agreements.c.lifecycle_state)
            ).all()
        for name, version, state, n in rows:
            c = counts.setdefault((name, version), {"agreements": 0, "running": 0})
            c["agreements"] += n
            try:
                final = ctx.registry.get(name, version).state(state).final
            except (LookupError, KeyError):
                final = False
            if not final:
                c["running"] += n
    except DatabaseNotReady:
        counts = None  # definitions can be listed before `tkksd init`
    out = []
    for defn in ctx.registry.all():
        c = (counts or {}).get((defn.name, defn.version), {"agreements": 0, "running": 0})
        out.append({
            "workflow": defn.name, "version": defn.version, "latest": ctx.registry.latest(defn.name).version == defn.version,
            "label": defn.label.get(ctx.lang), "states": len(defn.states), "events": len(defn.events),
            "agreements": c["agreements"] if counts is not None else None,
            "running": c["running"] if counts is not None else None, "source": defn.source,
        })
    if as_json:
        emit_json(out)
        return
    for r in out:
        r["latest_mark"] = "yes" if r["latest"] else ""
    table(out, [("workflow", "WORKFLOW"), ("version", "VERSION"), ("latest_mark", "LATEST"), ("running", "RUNNING"),
                ("agreements", "AGREEMENTS"), ("label", "LABEL")])


def _print_definition(d: dict) -> None:
    lang_label = d["label_text"]
    latest = "latest" if d["latest"] else "not the latest"
    click.echo(f"{d['name']} v{d['version']}: {lang_label} ({latest}; installed versions: {', '.join(map(str, d['versions']))})")
    click.echo(f"  ids {d['id_prefix']}-YYYY-NNNN, starts in {d['initial']}; {d['source']}")
    click.echo("States:")
    for s in d["states"]:
        click.echo(f"  {s['name']:<18} {s['label']['id']} / {s['label']['en']}{'  (final)' if s['final'] else ''}")
    click.echo("Events:")
    for e in d["events"]:
        click.echo(f"  {e['name']:<16} {', '.join(e['from'])} -> {e['to']}  [{', '.join(e['roles'])}]  {e['label_text']}")
        reqs = []
        for r in e["requires"]:
            text = r["key"] + (" (new value)" if r.get("fresh") else "")
            if r.get("when_text"):
                text += f" when {r['when_text']}"
            reqs.append(text)
        if reqs:
            click.echo(f"      requires: {'; '.join(reqs)}")
        for r in e["rules"]:
            params = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("rule", "when", "message"))
            extra = f": {r['message']}" if r.get("message") else ""
            click.echo(f"      rule {r['rule']}{' (' + params + ')' if params else ''}{extra}")
    if d["deadlines"]:
        click.echo("Deadlines:")
        for dl in d["deadlines"]:
            what = f"fire {dl['event']}" if dl["action"] == "fire" else f"notify {dl['template']} to {', '.join(dl['notify'])}"
            anchor = "entering the state" if dl["anchor"] == "entered" else dl["anchor"].split(":", 1)[1]
            repeat = f", then every {dl['repeat_days']} days" if dl["repeat_days"] else ""
            when = f", when {dl['when_text']}" if dl.get("when_text") else ""
            click.echo(f"  {dl['name']:<20} in {', '.join(dl['states'])}: {what}, days {dl['days']} after {anchor}{repeat}{when}")
    for name, info in d["limits"].items():
        click.echo(f"Limits '{name}' ({info['from'] or 'NOT CONFIGURED'}):")
        values = info["values"] or {}
        for key, entry in values.items() if isinstance(values, dict) else []:
            if isinstance(entry, dict):
                bits = [f"{entry['years']} years" if entry.get("years") is not None else "no maximum"]
                if entry.get("max_extensions") is not None:
                    bits.append(f"at most {entry['max_extensions']} extension(s)")
                if entry.get("exception_allowed"):
                    bits.append("exception ground allowed")
                if entry.get("verified") is False:
                    bits.append("NOT YET CHECKED against the official text")
                click.echo(f"  {key:<14} {'; '.join(bits)}  [{entry.get('source', '')}]")
            else:
                click.echo(f"  {key:<14} {entry}")


@workflow.command()
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), default=None, help="This version (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name, version, as_json):
    """Show a workflow definition: states, events and what each requires, deadlines, limits.

    \b
    Example:
      tkksd workflow show pemanfaatan-bmd
      tkksd workflow show kerja-sama --version 1 --json
    """
    from engine.errors import NotFound
    from engine.lifecycle.workflow_catalog import describe

    ctx = _registry_context()
    try:
        defn = ctx.registry.get(name, version)
    except LookupError as exc:
        raise NotFound(str(exc).strip("'\"") + "; `tkksd workflow list` shows the installed ones.") from None
    d = describe(defn, ctx.settings, ctx.lang, latest=ctx.registry.latest(name).version == defn.version,
                 versions=ctx.registry.versions(name))
    if as_json:
        emit_json(d)
        return
    _print_definition(d)


@workflow.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check(files, as_json):
    """Check the installed definitions, and FILES (new versions, say) alongside them.

    Besides the checker every definition passes when it is loaded, this also checks what only
    this deployment can tell: the limits tables rules read, and the notice templates named.
    Exits non-zero when any definition fails, naming each problem.

    \b
    Example:
      tkksd workflow check
      tkksd workflow check ./definitions/kerja-sama.v2.toml --json
    """
    from engine.errors import ConfigurationError
    from engine.lifecycle.workflow_catalog import check_files

    results = check_files(_settings(), files)
    if as_json:
        emit_json(results)
    else:
        for r in results:
            name = f"{r['workflow']} v{r['version']}" if r["workflow"] else "(unreadable)"
            click.echo(f"{'ok  ' if r['ok'] else 'FAIL'}  {name:<24} {r['file']}")
            for p in r["problems"]:
                click.echo(f"        {p}")
    failed = [r for r in results if not r["ok"]]
    if failed:
        first = failed[0]["problems"][0]
        raise ConfigurationError(f"{len(failed)} of {len(results)} workflow definition file(s) failed the check; the first: {first}.")


@workflow.command()
@click.argument("name")
@click.option("--from", "from_version", type=click.IntRange(min=1), required=True, help="The version agreements run under now.")
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True, help="The version to move them to.")
@click.option("--map", "maps", multiple=True, metavar="OLD=NEW", help="Agreements in state OLD land in state NEW; repeat for several.")
@click.option("--dry-run", is_flag=True, help="Only show what would move and what would stop it; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def migrate(name, from_version, to_version, maps, dry_run, as_json):
    """Move every running agreement of workflow NAME from one version to another, all or none.

    Each lands in the state of the same name, or where --map sends it. The migration is
    refused, naming each agreement and changing nothing, if one would land in a state the new
    version lacks or in a final one, or without a value the new version requires for being in
    that state (required by an event leading into it, beyond what the old version required).
    Each moved agreement gets a history entry; its deadlines are recomputed under the new
    version in the same transaction. Agreements in a final state stay on their version.
    Admins only (--dry-run: any user). With --dry-run, exits non-zero if it would be refused.

    \b
    Example:
      tkksd workflow migrate kerja-sama --from 1 --to 2 --dry-run
      tkksd workflow migrate kerja-sama --from 1 --to 2 --map synchronized=harmonized
    """
    from engine.lifecycle.version_migration import MigrationRefused, migrate as migrate_, parse_mapping

    from .common import context

    out = migrate_(context(), actor(), name, from_version, to_version, parse_mapping(maps), dry_run=dry_run)
    if as_json:
        emit_json(out)
    else:
        verb = "would move" if dry_run else "moved"
        rows = [{**a, "to": a["to_state"] if a["ok"] else "-", "problem": "; ".join(a["problems"])} for a in out["agreements"]]
        table(rows, [("id", "ID"), ("from_state", "STATE"), ("to", f"IN v{to_version}"), ("problem", "PROBLEM")])
        movable = sum(1 for a in out["agreements"] if a["ok"])
        kept = f"; {out['final_kept']} in a final state stay on v{from_version}" if out["final_kept"] else ""
        click.echo(f"{name} v{from_version} -> v{to_version}: {verb} {movable} of {len(out['agreements'])} running agreement(s){kept}.")
    if out["refusal"]:  # a dry run that the real migration would refuse
        raise MigrationRefused(out["refusal"], workflow=name, from_version=from_version, to_version=to_version, blocked=())
