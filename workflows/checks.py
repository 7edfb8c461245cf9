"""The checker: a definition that could strand an agreement is refused when it is loaded."""

from __future__ import annotations

import re
from collections import Counter
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import Any, Iterable, Mapping, NoReturn

from . import rule_kinds
from .wording import N_, LazyText
from .spec import (
    DEADLINE_ACTIONS,
    FIELD_TYPES,
    RECIPIENTS,
    ROLES,
    RULE_KINDS,
    Creates,
    DeadlineRule,
    Event,
    Field,
    Rule,
    WorkflowDefinition,
    WorkflowDefinitionError,
)

# Rule parameters that name fields, so a typo in one is caught at load.
_RULE_FIELD_PARAMS = {
    "not_future": ("key",),
    "after": ("key", "other"),
    "increases": ("key",),
    "condition": (),
    "no_open_overlap": ("keys", "unless"),
    "max_term": ("start", "end", "selector", "exception"),
    "max_times": ("selector",),
}


def _duplicates(names: Iterable[str]) -> list[str]:
    return sorted(n for n, c in Counter(names).items() if c > 1)


def condition_keys(cond: Any, where: str | LazyText, source: str) -> set[str]:
    """Field keys a condition reads; refuses a malformed condition."""
    if not isinstance(cond, Mapping):
        raise WorkflowDefinitionError(source, _("{where}: a condition must be a table").format(where=where))
    if "any" in cond or "all" in cond:
        op = "any" if "any" in cond else "all"
        if not isinstance(cond[op], list) or not cond[op]:
            raise WorkflowDefinitionError(source, _("{where}: '{operator}' needs a list of conditions")
                .format(where=where, operator=op))
        keys: set[str] = set()
        for sub in cond[op]:
            keys |= condition_keys(sub, where, source)
        return keys
    if "not" in cond:
        return condition_keys(cond["not"], where, source)
    if not isinstance(cond.get("key"), str):
        raise WorkflowDefinitionError(source, _("{where}: a condition needs 'key' (or any/all/not)").format(where=where))
    ops = set(cond) - {"key"}
    if len(ops) != 1 or not ops <= {"eq", "in", "set"}:
        raise WorkflowDefinitionError(source, _("{where}: a condition on '{field}' needs exactly one of eq, in, set")
            .format(where=where, field=cond['key']))
    return {cond["key"]}


def check(defn: WorkflowDefinition, known_workflows: Mapping[str, WorkflowDefinition] | None = None) -> WorkflowDefinition:
    """Return the definition unchanged, or raise WorkflowDefinitionError naming the first problem.

    The parts are checked in this order (the first problem found is the one named): names,
    fields, events with their rules, reachability, ``[timing]``, deadline rules."""
    _check_names(defn)
    fields = _check_fields(defn)
    final = set(defn.final_states())
    for e in defn.events:
        _check_event(defn, e, fields, final, known_workflows)
    _check_reachable(defn, final)
    _check_timing(defn, fields)
    for d in defn.deadlines:
        _check_deadline(defn, d, fields, final)
    return defn


def _fail(defn: WorkflowDefinition, problem: str) -> NoReturn:
    raise WorkflowDefinitionError(defn.source, problem)


def _check_names(defn: WorkflowDefinition) -> None:
    for message, names in (
        (N_("duplicate state name(s): {names}"), [s.name for s in defn.states]),
        (N_("duplicate event name(s): {names}"), [e.name for e in defn.events]),
        (N_("duplicate field name(s): {names}"), [f.key for f in defn.fields]),
        (N_("duplicate deadline name(s): {names}"), [d.name for d in defn.deadlines]),
    ):
        dups = _duplicates(names)
        if dups:
            _fail(defn, _(message).format(names=", ".join(dups)))
    if not defn.states:
        _fail(defn, _("it has no states"))
    if not defn.has_state(defn.initial):
        _fail(defn, _("initial state '{state}' is not a declared state").format(state=defn.initial))


def _check_fields(defn: WorkflowDefinition) -> dict[str, Field]:
    """The declared fields by key, once each is of a known type."""
    fields = {f.key: f for f in defn.fields}
    for f in defn.fields:
        if f.type not in FIELD_TYPES:
            _fail(defn, _("field '{field}' has unknown type '{type}' (known: {known})")
                .format(field=f.key, type=f.type, known=', '.join(sorted(FIELD_TYPES))))
        if f.type == "choice" and not f.choices:
            _fail(defn, _("choice field '{field}' lists no choices").format(field=f.key))
        if f.confirm and f.type != "bool":
            _fail(defn, _("field '{field}' is a confirmation but not of type bool").format(field=f.key))
    for key in defn.core_fields:
        if key not in fields:
            _fail(defn, _("core field '{key}' is not declared among the fields").format(key=key))
    if defn.note_field is not None and defn.note_field not in fields:
        _fail(defn, _("note_field '{field}' is not a declared field").format(field=defn.note_field))
    return fields


def _check_event(defn: WorkflowDefinition, e: Event, fields: Mapping[str, Field], final: set[str],
                 known_workflows: Mapping[str, WorkflowDefinition] | None) -> None:
    where = LazyText(N_("event '{name}'"), name=e.name)
    if not e.sources:
        _fail(defn, _("{where} has no source state").format(where=where))
    for s in e.sources:
        if not defn.has_state(s):
            _fail(defn, _("{where} starts from unknown state '{state}'").format(where=where, state=s))
        if s in final:
            _fail(defn, _("final state '{state}' has an exit: event '{event}'").format(state=s, event=e.name))
    if not defn.has_state(e.dest):
        _fail(defn, _("{where} leads to unknown state '{state}'").format(where=where, state=e.dest))
    if not e.roles:
        _fail(defn, _("{where} names no role that may fire it").format(where=where))
    for r in e.roles:
        if r not in ROLES:
            _fail(defn, _("{where} names unknown role '{role}' (known: {known})")
                .format(where=where, role=r, known=', '.join(sorted(ROLES))))
    for req in e.requires:
        if req.key not in fields:
            _fail(defn, _("{where} requires unknown field '{field}'").format(where=where, field=req.key))
        if req.when is not None:
            _check_condition(defn, req.when, fields, LazyText(N_("{where}, requirement '{field}'"), where=where, field=req.key))
    for rule in e.rules:
        _check_rule(defn, where, rule, fields)
    if e.creates is not None:
        _check_creates(defn, where, e.creates, fields, known_workflows)


def _check_condition(defn: WorkflowDefinition, cond: Any, fields: Mapping[str, Field], where: str | LazyText) -> None:
    """A well-formed condition that reads declared fields only (``where`` names it in the problem)."""
    for k in condition_keys(cond, where, defn.source):
        if k not in fields:
            _fail(defn, _("{where}: the condition reads unknown field '{field}'").format(where=where, field=k))


def _check_rule(defn: WorkflowDefinition, where: str | LazyText, rule: Rule, fields: Mapping[str, Field]) -> None:
    registered = rule_kinds.get(rule.kind)
    if rule.kind not in RULE_KINDS and registered is None:
        known = sorted(RULE_KINDS | set(rule_kinds.registry()))
        _fail(defn, _("{where} uses unknown rule '{rule}' (known: {known})")
            .format(where=where, rule=rule.kind, known=', '.join(known)))
    if registered is not None and registered.validate is not None:
        problem = registered.validate(defn, rule)
        if problem:
            _fail(defn, _("{where}, rule '{rule}': {problem}").format(where=where, rule=rule.kind, problem=problem))
    params = registered.field_params if registered is not None else _RULE_FIELD_PARAMS[rule.kind]
    for param in params:
        value = rule.params.get(param)
        for k in [value] if isinstance(value, str) else list(value or []):
            if k not in fields:
                _fail(defn, _("{where}: rule '{rule}' names unknown field '{field}'")
                    .format(where=where, rule=rule.kind, field=k))
    if rule.kind == "condition":
        if "when" not in rule.params or "message" not in rule.params:
            _fail(defn, _("{where}: rule 'condition' needs 'when' and 'message'").format(where=where))
        _check_condition(defn, rule.params["when"], fields, LazyText(N_("{where}, rule 'condition'"), where=where))
    if rule.kind == "max_term":
        _check_max_term(defn, where, rule)
    if rule.kind == "max_times":
        _check_max_times(defn, where, rule)


def _check_max_term(defn: WorkflowDefinition, where: str | LazyText, rule: Rule) -> None:
    for param in ("start", "end", "selector", "limits"):
        if not isinstance(rule.params.get(param), str):
            _fail(defn, _("{where}: rule 'max_term' needs '{parameter}'").format(where=where, parameter=param))
    if rule.params.get("start_from", "values") not in ("values", "stored"):
        _fail(defn, _("{where}: rule 'max_term' has start_from '{value}'; use 'values' or 'stored'")
            .format(where=where, value=rule.params['start_from']))


def _check_max_times(defn: WorkflowDefinition, where: str | LazyText, rule: Rule) -> None:
    p = rule.params
    if not (isinstance(p.get("limit"), int) or (isinstance(p.get("limits"), str) and isinstance(p.get("selector"), str))):
        _fail(defn, _("{where}: rule 'max_times' needs a whole number 'limit', or 'limits' and 'selector'").format(where=where))
    if not isinstance(p.get("event"), str):
        _fail(defn, _("{where}: rule 'max_times' needs 'event'").format(where=where))
    if p.get("event") and not defn.has_event(p["event"]):
        _fail(defn, _("{where}: rule 'max_times' counts unknown event '{event}'").format(where=where, event=p['event']))


def _check_creates(defn: WorkflowDefinition, where: str | LazyText, c: Creates, fields: Mapping[str, Field],
                   known_workflows: Mapping[str, WorkflowDefinition] | None) -> None:
    target = defn if c.workflow == defn.name else (known_workflows or {}).get(c.workflow)
    if target is None:
        _fail(defn, _("{where} creates an agreement in unknown workflow '{workflow}'").format(where=where, workflow=c.workflow))
    elif not target.has_state(c.state):
        _fail(defn, _("{where} creates an agreement in unknown state '{state}'").format(where=where, state=c.state))
    for k in list(c.copy) + list(c.set):
        if k not in fields:
            _fail(defn, _("{where} creates: unknown field '{field}'").format(where=where, field=k))


def _check_reachable(defn: WorkflowDefinition, final: set[str]) -> None:
    """Every state must be reachable from the initial one, and every non-final state must
    have a way out: otherwise an agreement could hang there for ever."""
    reachable = {defn.initial}
    frontier = [defn.initial]
    while frontier:
        current = frontier.pop()
        for e in defn.events_from(current):
            if e.dest not in reachable:
                reachable.add(e.dest)
                frontier.append(e.dest)
    for s in defn.states:
        if s.name not in reachable:
            _fail(defn, _("state '{state}' is unreachable from the initial state '{initial}'")
                .format(state=s.name, initial=defn.initial))
        if not s.final and not defn.events_from(s.name):
            _fail(defn, _("state '{state}' is not final but no event leaves it").format(state=s.name))
    if not final:
        _fail(defn, _("it has no final state"))


def _check_timing(defn: WorkflowDefinition, fields: Mapping[str, Field]) -> None:
    t = defn.timing
    if t.ends_field is not None and (t.ends_field not in fields or fields[t.ends_field].type != "date"):
        _fail(defn, _("[timing] ends_field '{field}' is not a date field").format(field=t.ends_field))
    if t.step_rule is not None and t.step_rule not in {x.name for x in defn.deadlines}:
        _fail(defn, _("[timing] step_rule '{rule}' is not a deadline rule").format(rule=t.step_rule))


def _check_deadline(defn: WorkflowDefinition, d: DeadlineRule, fields: Mapping[str, Field], final: set[str]) -> None:
    where = LazyText(N_("deadline '{name}'"), name=d.name)
    if d.action not in DEADLINE_ACTIONS:
        _fail(defn, _("{where} has unknown action '{action}' (known: {known})")
            .format(where=where, action=d.action, known=', '.join(sorted(DEADLINE_ACTIONS))))
    if not d.states:
        _fail(defn, _("{where} names no state").format(where=where))
    for s in d.states:
        if not defn.has_state(s):
            _fail(defn, _("{where} names unknown state '{state}'").format(where=where, state=s))
        if s in final:
            _fail(defn, _("{where} runs in final state '{state}'").format(where=where, state=s))
    if d.action == "fire":
        if not d.event or not defn.has_event(d.event):
            _fail(defn, _("{where} fires unknown event '{event}'").format(where=where, event=d.event))
        if "system" not in defn.event(d.event).roles:
            _fail(defn, _("{where} fires event '{event}', which the role 'system' may not fire")
                .format(where=where, event=d.event))
    if d.action == "notify" and not d.template:
        _fail(defn, _("{where} notifies but names no template").format(where=where))
    if d.counts_from is not None and d.counts_from not in {x.name for x in defn.deadlines}:
        _fail(defn, _("{where} counts from unknown deadline '{deadline}'").format(where=where, deadline=d.counts_from))
    if d.overdue_template and not (d.overdue_notify or d.notify):
        _fail(defn, _("{where} has an overdue_template but nobody to notify").format(where=where))
    if d.skip_if_ending and not (defn.timing.ends_field and defn.timing.step_rule):
        _fail(defn, _("{where} is skip_if_ending but [timing] names no ends_field and step_rule").format(where=where))
    for r in d.notify + d.cc + d.overdue_notify + d.overdue_cc:
        if r not in RECIPIENTS:
            _fail(defn, _("{where} notifies unknown recipient '{recipient}' (known: {known})")
                .format(where=where, recipient=r, known=', '.join(sorted(RECIPIENTS))))
    _check_anchor(defn, where, d.anchor, fields)
    _check_days(defn, where, d)
    if d.when is not None:
        _check_condition(defn, d.when, fields, where)


def _check_anchor(defn: WorkflowDefinition, where: str | LazyText, anchor: str, fields: Mapping[str, Field]) -> None:
    if anchor.startswith("yearly:"):
        # a day of the year (MM-DD) in the year after a date field's (engine.lifecycle.plan_periods)
        parts = anchor.split(":")
        if len(parts) != 3 or not re.fullmatch(r"\d{2}-\d{2}", parts[1]) or parts[2] not in fields:
            _fail(defn, _("{where} has anchor '{anchor}'; use 'yearly:MM-DD:<date field>'").format(where=where, anchor=anchor))
    elif anchor.startswith("plan_period:"):
        # the end of the planning period the field's reference cites (workflows.plans)
        if anchor[12:] not in fields:
            _fail(defn, _("{where} has anchor '{anchor}', which names no declared field").format(where=where, anchor=anchor))
    elif anchor != "entered":
        if not anchor.startswith("field:") or anchor[6:] not in fields:
            _fail(defn, _("{where} has anchor '{anchor}'; use 'entered' or 'field:<date field>'")
                .format(where=where, anchor=anchor))
        elif fields[anchor[6:]].type != "date":
            _fail(defn, _("{where} is anchored on '{field}', which is not a date field").format(where=where, field=anchor[6:]))


def _check_days(defn: WorkflowDefinition, where: str | LazyText, d: DeadlineRule) -> None:
    if isinstance(d.days, Mapping):
        for s in d.days:
            if s not in d.states:
                _fail(defn, _("{where} gives days for state '{state}', which it does not run in").format(where=where, state=s))
        for s in d.states:
            if s not in d.days:
                _fail(defn, _("{where} gives no days for state '{state}'").format(where=where, state=s))
    if d.repeat_days is not None and (not isinstance(d.repeat_days, int) or d.repeat_days < 1):
        _fail(defn, _("{where}: repeat_days must be a whole number of days from 1").format(where=where))
