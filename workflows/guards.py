"""Pure predicates over an agreement seen through ``AgreementView``: what an event still needs.

The engine supplies the view (values, history counts, overlap look-up, limits); nothing
here touches a database. Each problem is a ``Problem`` with the field it concerns and a plain
sentence, so a refusal can name every missing item at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import Any, Protocol

from . import wording
from .spec import Event, Field, Rule, WorkflowDefinition

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TRUE_WORDS = {"yes", "true", "ya", "y", "1"}
FALSE_WORDS = {"no", "false", "tidak", "n", "0"}


class AgreementView(Protocol):
    values: Mapping[str, Any]  # core attributes and data, typed (dates as date, bools as bool)
    today: date  # in the regency's zone

    def count_events(self, event: str) -> int: ...

    def count_events_since_entered(self, event: str) -> int: ...  # fired since the current state was entered

    def open_overlaps(self, keys: Sequence[str]) -> list[str]: ...

    def limit(self, name: str) -> Any: ...

    # Optional: ``choice_label(key, value, lang)``, a choice's label (wording.choice asks for it).


@dataclass(frozen=True)
class Problem:
    key: str | None
    message: str
    missing: bool = False  # a requirement not yet supplied (as opposed to a value that breaks a rule)
    warning: bool = False  # a flag for people that does not stop the event (rule parameter warn = true)


class ValueProblem(ValueError):
    """A typed value that cannot be parsed; the message is one plain sentence."""


def parse_date(raw: Any, field: Field | None = None) -> date:
    """A date from ``YYYY-MM-DD`` text (or a date); the problem names ``field`` when given."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueProblem(_("{field} must be a date as YYYY-MM-DD, not '{value}'").format(field=_named(field), value=text)
                           if field else _("'{value}' is not a date as YYYY-MM-DD").format(value=text))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueProblem(_("{field} is not a real date: '{value}'").format(field=_named(field), value=text) if field
                           else _("'{value}' is not a real date").format(value=text)) from None


def parse_value(f: Field, raw: Any) -> Any:
    """Turn a user's text (or an already typed value) into the field's type."""
    if raw is None:
        raise ValueProblem(_("{field} needs a value").format(field=_named(f)))
    if f.type == "date":
        return parse_date(raw, f)
    if f.type == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueProblem(_("{field} must be yes or no (true/false), not '{value}'").format(field=_named(f), value=raw))
    if f.type == "number":
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return raw
        try:
            number = float(str(raw).strip().replace(",", "."))
        except ValueError:
            raise ValueProblem(_("{field} must be a number, not '{value}'").format(field=_named(f), value=raw)) from None
        return int(number) if number.is_integer() else number
    text = str(raw).strip()
    if not text:
        raise ValueProblem(_("{field} cannot be empty").format(field=_named(f)))
    if _CONTROL.search(text):
        raise ValueProblem(_("{field} contains control characters").format(field=_named(f)))
    if f.type == "choice":
        for choice in f.choices:
            if choice.lower() == text.lower():
                return choice
        raise ValueProblem(_("{field} must be one of {choices}, not '{value}'").format(
            field=_named(f), choices=", ".join(f.choices), value=text))
    if f.type == "opd":
        return text.upper()
    return text


def _named(f: Field) -> str:
    """A field as a problem names it, worded only when there is one: ``signed_on (Tanggal penandatanganan)``."""
    return f"{f.key} ({wording.label(f.label)})"


def to_plain(value: Any) -> Any:
    """A typed value as JSON data (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def holds(cond: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool:
    if cond is None:
        return True
    if "any" in cond:
        return any(holds(c, values) for c in cond["any"])
    if "all" in cond:
        return all(holds(c, values) for c in cond["all"])
    if "not" in cond:
        return not holds(cond["not"], values)
    value = values.get(cond["key"])
    if "set" in cond:
        return (value not in (None, "")) == bool(cond["set"])
    if "eq" in cond:
        return value == cond["eq"]
    return value in cond["in"]


def _read_keys(cond: Mapping[str, Any]) -> set[str]:
    """The field keys a (checked) condition reads."""
    for op in ("any", "all"):
        if op in cond:
            return set().union(*(_read_keys(c) for c in cond[op]))
    if "not" in cond:
        return _read_keys(cond["not"])
    return {cond["key"]}


def could_pass(event: Event, values: Mapping[str, Any]) -> bool:
    """False when a ``condition`` rule of ``event`` fails on values the event does not ask for:
    nothing supplied with it can change them, so the event cannot happen for this agreement
    (an IKN hand-over of an agreement outside the delineation, an upgrade of a PKS)."""
    asked = {r.key for r in event.requires}
    for rule in event.rules:
        if rule.kind != "condition" or _read_keys(rule.params["when"]) & asked:
            continue
        if not holds(rule.params["when"], values):
            return False
    return True


def is_supplied(f: Field, value: Any) -> bool:
    if value is None or value == "":
        return False
    if f.confirm:
        return value is True
    return True


def missing_requirements(defn: WorkflowDefinition, event: Event, values: Mapping[str, Any], supplied: Mapping[str, Any] | None = None) -> list[Field]:
    """The fields ``event`` still needs, given the stored values merged with ``supplied``."""
    supplied = supplied or {}
    merged = {**values, **supplied} if supplied else values  # nothing supplied: no copy to make
    out = []
    for req in event.requires:
        if not holds(req.when, merged):
            continue
        f = defn.field(req.key)
        value = supplied.get(req.key) if req.fresh else merged.get(req.key)
        if not is_supplied(f, value):
            out.append(f)
    return out


def _years_between(start: date, end: date) -> float:
    return (end - start).days / 365.25


def _add_years(start: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def _exceeds_years(start: date, end: date, max_years: float) -> bool:
    # Whole years are calendar years: 1 April 2031 to 1 April 2036 is 5 years, leap days or not.
    if float(max_years).is_integer():
        return end > _add_years(start, int(max_years))
    return _years_between(start, end) > max_years + 1e-9


def check_rule(defn: WorkflowDefinition, rule: Rule, view: AgreementView, values: Mapping[str, Any], stored: Mapping[str, Any],
               supplied: Mapping[str, Any] | None = None) -> Problem | None:
    p = rule.params
    from . import rule_kinds  # registered kinds read guards' helpers: imported late

    registered = rule_kinds.get(rule.kind)
    if registered is not None:
        problem = registered.check(defn, rule, view, values, stored, supplied or {})
        if problem is not None and p.get("warn"):
            return Problem(problem.key, problem.message, warning=True)
        return problem
    if rule.kind == "not_future":
        v = values.get(p["key"])
        if isinstance(v, date) and v > view.today:
            return Problem(p["key"], _("{field} {value} is in the future (today is {today})").format(
                field=wording.field(defn, p["key"]), value=wording.day(v), today=wording.day(view.today)))
    elif rule.kind == "after":
        v, other = values.get(p["key"]), values.get(p["other"])
        if isinstance(v, date) and isinstance(other, date) and v <= other:
            return Problem(p["key"], _("{field} {value} must be after {other} {other_value}").format(
                field=wording.field(defn, p["key"]), value=wording.day(v), other=wording.field(defn, p["other"]),
                other_value=wording.day(other)))
    elif rule.kind == "increases":
        v, old = values.get(p["key"]), stored.get(p["key"])
        if v is not None and old is not None and v <= old:
            return Problem(p["key"], _("the new {field} {value} must be after the current {current}").format(
                field=wording.field(defn, p["key"]), value=wording.value(v), current=wording.value(old)))
    elif rule.kind == "condition":
        if not holds(p["when"], values):
            return Problem(None, wording.said(p["message"]))
    elif rule.kind == "no_open_overlap":
        return _check_no_open_overlap(defn, rule, view, values)
    elif rule.kind == "max_term":
        return _check_max_term(defn, rule, view, values, stored)
    elif rule.kind == "max_times":
        return _check_max_times(defn, rule, view, values)
    return None


def _check_no_open_overlap(defn: WorkflowDefinition, rule: Rule, view: AgreementView,
                           values: Mapping[str, Any]) -> Problem | None:
    p = rule.params
    unless = p.get("unless")
    if unless and values.get(unless) is True:
        return None
    others = view.open_overlaps(tuple(p["keys"]))
    if not others:
        return None
    compared = ", ".join(wording.field_label(defn, k) for k in p["keys"])
    if unless:
        return Problem(unless, _("another open agreement has the same {fields}: {agreements}; acknowledge it with {field}=yes")
                       .format(fields=compared, agreements=", ".join(others), field=unless))
    return Problem(None, _("another open agreement has the same {fields}: {agreements}").format(
        fields=compared, agreements=", ".join(others)))


def _check_max_term(defn: WorkflowDefinition, rule: Rule, view: AgreementView, values: Mapping[str, Any],
                    stored: Mapping[str, Any]) -> Problem | None:
    # The term runs from `start` to `end`; with start_from = "stored" the start is the value
    # before this event (an extension is measured from the current end date to the new one).
    p = rule.params
    start = (stored if p.get("start_from") == "stored" else values).get(p["start"])
    end = values.get(p["end"])
    selector = values.get(p["selector"])
    limits = view.limit(p["limits"]) or {}
    if not (isinstance(start, date) and isinstance(end, date)) or selector not in limits:
        return None
    entry = limits[selector]
    entry = entry if isinstance(entry, Mapping) else {"years": entry}
    max_years = entry.get("years")
    if max_years is None:  # the form has no maximum configured (yet)
        return None
    source = entry.get("source", "")
    exception = p.get("exception")
    allows_exception = bool(entry.get("exception_allowed", True))
    years = _years_between(start, end)
    if not _exceeds_years(start, end, max_years) or (exception and allows_exception and values.get(exception)):
        return None
    limit = f"{p['limits']}.{selector}" + (f": {source}" if source else "")
    where = (_("limit {limit}; not yet checked against the official text") if entry.get("verified") is False
             else _("limit {limit}")).format(limit=limit)
    message = _("the term of {years} years exceeds the maximum of {maximum} years for {selector} ({where})").format(
        years=wording.number(years, 1), maximum=wording.number(max_years), selector=wording.choice(view, p["selector"], selector),
        where=where)
    if exception and allows_exception:
        message += "; " + _("record an exception ground in {field} if one applies").format(field=wording.field(defn, exception))
    return Problem(p["end"], message)


def _check_max_times(defn: WorkflowDefinition, rule: Rule, view: AgreementView, values: Mapping[str, Any]) -> Problem | None:
    p = rule.params
    selector = values.get(p["selector"]) if p.get("selector") else None
    limits = view.limit(p["limits"]) if p.get("limits") else None
    limit = p.get("limit")
    source = ""
    if limits is not None and selector in limits:
        entry = limits[selector]
        limit = entry.get("max_extensions") if isinstance(entry, Mapping) else entry
        source = entry.get("source", "") if isinstance(entry, Mapping) else ""
    if limit is None:
        return None
    done = view.count_events(p["event"])
    if done < limit:
        return None
    # Where the limit comes from is data (a table and its legal source), quoted as it is.
    where = f" ({p['limits']}.{selector}: {source})" if source and p.get("limits") else (f" ({source})" if source else "")
    event = wording.event(defn, p["event"])
    if selector:
        message = _("{event} may happen at most {limit} time(s) for {selector}{source}; it has happened {done}").format(
            event=event, limit=limit, selector=wording.choice(view, p["selector"], selector), source=where, done=done)
    else:
        message = _("{event} may happen at most {limit} time(s){source}; it has happened {done}").format(
            event=event, limit=limit, source=where, done=done)
    return Problem(None, message)


def only_flags(rule: Rule) -> bool:
    """Whether ``rule`` flags without ever stopping the event (``warn = true`` on a registered kind)."""
    from . import rule_kinds

    return bool(rule.params.get("warn")) and rule_kinds.get(rule.kind) is not None


def evaluate(defn: WorkflowDefinition, event: Event, view: AgreementView, supplied: Mapping[str, Any] | None = None) -> list[Problem]:
    """Every reason ``event`` cannot happen now: missing requirements first, then broken rules."""
    supplied = supplied or {}
    merged = {**view.values, **supplied}
    problems = [
        Problem(f.key, wording.field(defn, f.key), missing=True) for f in missing_requirements(defn, event, view.values, supplied)
    ]
    if problems:
        return problems  # rules read values that are not there yet
    for rule in event.rules:
        if only_flags(rule):
            continue  # its answer could not stop the event: not worth its look-ups here (see ``warnings``)
        problem = check_rule(defn, rule, view, merged, view.values, supplied)
        if problem is not None and not problem.warning:
            problems.append(problem)
    return problems


def warnings(defn: WorkflowDefinition, event: Event, view: AgreementView, supplied: Mapping[str, Any] | None = None) -> list[Problem]:
    """The flags (rules with ``warn = true``) that ``event`` raises without being stopped by them."""
    supplied = supplied or {}
    merged = {**view.values, **supplied}
    out = []
    for rule in event.rules:
        if rule.params.get("warn"):
            problem = check_rule(defn, rule, view, merged, view.values, supplied)
            if problem is not None:
                out.append(problem)
    return out
