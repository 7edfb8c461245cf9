"""Rule kind ``min_share``: a value that must reach a minimum set per form, with its source.

    { rule = "min_share", key = "government_use_pct", selector = "form", limits = "bmd_minimums" }

The limits table (definition settings, overridable in the deployment's configuration) holds
one entry per form: ``{ min = 10, source = "...", verified = true|false }``. A form without an
entry is not checked; a value below the minimum is refused quoting the source, and an entry not
yet checked against the official text says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does

from . import wording
from .guards import Problem
from .rule_kinds import kind


def _check_min_share(defn, rule, view, values, stored, supplied) -> Problem | None:
    p = rule.params
    selector = values.get(p["selector"])
    table = view.limit(p["limits"]) or {}
    entry = table.get(selector) if selector else None
    if not isinstance(entry, Mapping) or entry.get("min") is None:
        return None
    value = values.get(p["key"])
    if value is None:
        # A missing item reads after "missing " in the refusal.
        return Problem(p["key"], _("{field}, at least {minimum} for {selector}").format(
            field=wording.field(defn, p["key"]), minimum=wording.percent(entry["min"]),
            selector=wording.choice(view, p["selector"], selector)), missing=True)
    if float(value) + 1e-9 >= float(entry["min"]):
        return None
    return Problem(p["key"], _("{field} {value} is below the minimum of {minimum} for {selector} ({where})").format(
        field=wording.field(defn, p["key"]), value=wording.percent(value), minimum=wording.percent(entry["min"]),
        selector=wording.choice(view, p["selector"], selector), where=_where(p, selector, entry)))


def _where(p, selector, entry: Mapping) -> str:
    """The table entry a limit comes from and its legal source (data, quoted as it is), and
    whether it was checked against the official text."""
    where = f"{p['limits']}.{selector}" + (f": {entry['source']}" if entry.get("source") else "")
    if entry.get("verified") is False:
        return _("{source}; to be confirmed against the official text").format(source=where)
    return where


def _validate(defn, rule) -> str | None:
    for param in ("key", "selector", "limits"):
        if not isinstance(rule.params.get(param), str):
            return _("needs '{parameter}'").format(parameter=param)
    return None


kind("min_share", field_params=("key", "selector"), validate=_validate)(_check_min_share)


def _check_required_per_form(defn, rule, view, values, stored, supplied) -> Problem | None:
    """``{ rule = "required_per_form", selector = "form", limits = "bmd_approvals" }``: the
    fields each form needs (an approval's reference and date), from a table with its source."""
    p = rule.params
    selector = values.get(p["selector"])
    table = view.limit(p["limits"]) or {}
    entry = table.get(selector) if selector else None
    if not isinstance(entry, Mapping):
        return None
    absent = [k for k in entry.get("requires", []) if values.get(k) in (None, "")]
    if not absent:
        return None
    what = wording.said(entry.get("approval", ""))
    # A missing item reads after "missing " in the refusal.
    message = (_("{fields} ({approval} for {selector}: {source})") if what else _("{fields} (for {selector}: {source})")).format(
        fields=wording.fields(defn, absent), approval=what, selector=wording.choice(view, p["selector"], selector),
        source=_where(p, selector, entry))
    return Problem(absent[0], message, missing=True)


def _validate_per_form(defn, rule) -> str | None:
    for param in ("selector", "limits"):
        if not isinstance(rule.params.get(param), str):
            return _("needs '{parameter}'").format(parameter=param)
    table = defn.settings.get(rule.params["limits"]) or {}
    for form, entry in table.items():
        for k in (entry or {}).get("requires", []):
            if not defn.has_field(k):
                return _("table {table} requires unknown field '{field}'").format(
                    table=f"{rule.params['limits']}.{form}", field=k)
    return None


kind("required_per_form", field_params=("selector",), validate=_validate_per_form)(_check_required_per_form)
