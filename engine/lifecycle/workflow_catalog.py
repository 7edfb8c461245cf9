"""The installed workflow definitions as a reader sees them, and a check that also knows the settings.

``workflows.checks`` refuses a definition that is broken on its own (no database, no
configuration). What only a deployment can tell is checked here as well: that every limits
table a rule reads exists (in the settings' ``[limits]`` or the definition's own ``settings``),
and that every notice template a definition names exists in both languages. ``check_files``
reports each file separately instead of stopping at the first broken one, so `tkksd workflow
check` can list every problem of a folder at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from workflows import DEFINITIONS_DIR, load_file
from workflows.checks import check
from workflows.guards import to_plain
from workflows.spec import Event, WorkflowDefinition, WorkflowDefinitionError

from engine.i18n import _, yes_no
from engine.lifecycle.labels import choice_label

LANGUAGES = ("id", "en")
TEMPLATE_PARTS = ("subject", "txt", "html")


# --------------------------------------------------------------------------- describing


def condition_text(cond: Any) -> str:
    """A condition as a short formula: ``form = sewa``, ``any(form in [ksp, bgs_bsg], ...)``."""
    if cond is None:
        return ""
    if "any" in cond or "all" in cond:
        op = "any" if "any" in cond else "all"
        return f"{op}(" + ", ".join(condition_text(c) for c in cond[op]) + ")"
    if "not" in cond:
        return f"not({condition_text(cond['not'])})"
    if "set" in cond:
        return f"{cond['key']} is {'set' if cond['set'] else 'empty'}"
    if "eq" in cond:
        value = cond["eq"]
        return f"{cond['key']} = {('yes' if value else 'no') if isinstance(value, bool) else to_plain(value)}"
    return f"{cond['key']} in [{', '.join(str(v) for v in cond['in'])}]"


def condition_words(cond: Any, defn: WorkflowDefinition, lang: str) -> str:
    """A condition as a reader says it, with the fields' and choices' labels:
    ``Jenis naskah salah satu dari KB, MoU, NK``; ``condition_text`` is the formula (for --json)."""
    if cond is None:
        return ""
    if "any" in cond or "all" in cond:
        parts = [condition_words(c, defn, lang) for c in cond["any" if "any" in cond else "all"]]
        return (_(" or ") if "any" in cond else _(" and ")).join(parts)
    if "not" in cond:
        return _("not ({condition})").format(condition=condition_words(cond["not"], defn, lang))
    key = cond["key"]
    field = defn.field(key).label.get(lang) if defn.has_field(key) else key
    if "set" in cond:
        return (_("{field} is filled in") if cond["set"] else _("{field} is empty")).format(field=field)

    def value(v: Any) -> str:
        return yes_no(v) if isinstance(v, bool) else choice_label(key, str(to_plain(v)), lang)

    if "eq" in cond:
        return _("{field} is {value}").format(field=field, value=value(cond["eq"]))
    return _("{field} is one of {values}").format(field=field, values=", ".join(value(v) for v in cond["in"]))


def _event(e: Event, lang: str) -> dict[str, Any]:
    return {
        "name": e.name,
        "label": {"id": e.label.id, "en": e.label.en},
        "label_text": e.label.get(lang),
        "from": list(e.sources),
        "to": e.dest,
        "roles": list(e.roles),
        "requires": [
            {"key": r.key, **({"when": dict(r.when), "when_text": condition_text(r.when)} if r.when else {}),
             **({"fresh": True} if r.fresh else {})}
            for r in e.requires
        ],
        "rules": [{"rule": r.kind, **{k: to_plain(v) for k, v in r.params.items()}} for r in e.rules],
        "creates": None if e.creates is None else {
            "workflow": e.creates.workflow, "state": e.creates.state, "title": e.creates.title,
            "copy": list(e.creates.copy), "set": dict(e.creates.set),
        },
        "notice": e.notice,
    }


def limits_used(defn: WorkflowDefinition) -> list[str]:
    return sorted({str(r.params["limits"]) for e in defn.events for r in e.rules if r.params.get("limits")})


def resolve_limit(settings, defn: WorkflowDefinition, name: str) -> tuple[Any, str | None]:
    """A limits table as the guards see it (settings first, then the definition) and where it came from."""
    configured = settings.section("limits").get(name)
    if configured is not None:
        return configured, f"settings [limits.{name}]"
    if name in defn.settings:
        return defn.settings[name], f"definition settings.{name}"
    return None, None


def describe(defn: WorkflowDefinition, settings, lang: str = "id", *, latest: bool = True,
             versions: Iterable[int] = ()) -> dict[str, Any]:
    """Everything a definition says, as JSON data; the limits it reads as configured now."""
    limits = {}
    for name in limits_used(defn):
        value, origin = resolve_limit(settings, defn, name)
        limits[name] = {"from": origin, "values": value}
    return {
        "name": defn.name,
        "version": defn.version,
        "versions": list(versions),
        "latest": latest,
        "label": {"id": defn.label.id, "en": defn.label.en},
        "label_text": defn.label.get(lang),
        "id_prefix": defn.id_prefix,
        "initial": defn.initial,
        "source": defn.source,
        "states": [{"name": s.name, "label": {"id": s.label.id, "en": s.label.en}, "final": s.final} for s in defn.states],
        "fields": [
            {"key": f.key, "type": f.type, "label": {"id": f.label.id, "en": f.label.en},
             **({"choices": list(f.choices)} if f.choices else {}), **({"confirm": True} if f.confirm else {})}
            for f in defn.fields
        ],
        "events": [_event(e, lang) for e in defn.events],
        "deadlines": [
            {"name": d.name, "states": list(d.states), "action": d.action, "anchor": d.anchor,
             "days": dict(d.days) if isinstance(d.days, Mapping) else (list(d.days) if isinstance(d.days, tuple) else d.days),
             "extra_days": d.extra_days, "setting": d.setting, "repeat_days": d.repeat_days, "event": d.event,
             "template": d.template, "notify": list(d.notify), "cc": list(d.cc),
             **({"when": dict(d.when), "when_text": condition_text(d.when)} if d.when else {}),
             "skip_if_children": d.skip_if_children}
            for d in defn.deadlines
        ],
        "limits": limits,
    }


# --------------------------------------------------------------------------- checking


def _template_dirs(settings) -> list[Path]:
    from notifiers.rendering import PACKAGE_TEMPLATES

    return [Path(p) for p in settings.paths("template_dirs")] + [PACKAGE_TEMPLATES]


def missing_templates(defn: WorkflowDefinition, settings) -> list[str]:
    """Notice kinds the definition names that lack a template file in some language."""
    kinds = {d.template for d in defn.deadlines if d.action == "notify" and d.template}
    kinds |= {d.overdue_template for d in defn.deadlines if d.overdue_template}
    kinds |= {e.notice for e in defn.events if e.notice}
    dirs = _template_dirs(settings)
    problems = []
    for kind in sorted(kinds):
        for lang in LANGUAGES:
            for part in TEMPLATE_PARTS:
                name = f"{lang}/{kind}.{part}.j2"
                if not any((d / name).is_file() for d in dirs):
                    problems.append(_("notice template '{kind}' has no {name}").format(kind=kind, name=name))
                    break
    return problems


def deployment_problems(defn: WorkflowDefinition, settings) -> list[str]:
    problems = []
    for e in defn.events:
        for r in e.rules:
            name = r.params.get("limits")
            if name and resolve_limit(settings, defn, str(name))[0] is None:
                problems.append(
                    _("event '{event}': rule '{rule}' reads limits '{name}', which neither the settings "
                      "[limits.{name}] nor the definition's settings provide").format(event=e.name, rule=r.kind, name=name)
                )
    return problems + missing_templates(defn, settings)


def definition_paths(settings, extra_files: Iterable[str | Path] = ()) -> list[Path]:
    """The shipped definitions, the deployment's folders (general.workflow_dirs), then ``extra_files``."""
    paths = sorted(DEFINITIONS_DIR.glob("*.toml"))
    for d in settings.paths("workflow_dirs"):
        paths.extend(sorted(Path(d).glob("*.toml")))
    seen = {p.resolve() for p in paths}
    for f in extra_files:
        p = Path(f)
        if p.resolve() not in seen:
            paths.append(p)
            seen.add(p.resolve())
    return paths


def check_files(settings, extra_files: Iterable[str | Path] = ()) -> list[dict[str, Any]]:
    """One result per definition file: {file, workflow, version, ok, problems}."""
    results: list[dict[str, Any]] = []
    loaded: list[tuple[dict[str, Any], WorkflowDefinition]] = []
    for path in definition_paths(settings, extra_files):
        entry: dict[str, Any] = {"file": str(path), "workflow": None, "version": None, "ok": True, "problems": []}
        results.append(entry)
        if not path.is_file():
            entry["problems"].append(_("the file does not exist"))
            continue
        try:
            defn = load_file(path)
        except WorkflowDefinitionError as exc:
            entry["problems"].append(str(exc))
            continue
        entry["workflow"], entry["version"] = defn.name, defn.version
        loaded.append((entry, defn))
    seen: dict[tuple[str, int], str] = {}
    latest: dict[str, WorkflowDefinition] = {}
    for entry, defn in loaded:
        key = (defn.name, defn.version)
        if key in seen:
            entry["problems"].append(_("version {version} of '{name}' is already defined in {file}").format(
                version=defn.version, name=defn.name, file=seen[key]))
            continue
        seen[key] = entry["file"]
        if defn.name not in latest or latest[defn.name].version < defn.version:
            latest[defn.name] = defn
    for entry, defn in loaded:
        if entry["problems"]:
            continue
        try:
            check(defn, latest)
        except WorkflowDefinitionError as exc:
            entry["problems"].append(str(exc))
            continue
        entry["problems"].extend(deployment_problems(defn, settings))
    for entry in results:
        entry["ok"] = not entry["problems"]
    return results
