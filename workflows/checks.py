"""The checker: a definition that could strand an agreement is refused when it is loaded."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable, Mapping

from . import rule_kinds
from .spec import (
    DEADLINE_ACTIONS,
    FIELD_TYPES,
    RECIPIENTS,
    ROLES,
    RULE_KINDS,
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


def condition_keys(cond: Any, where: str, source: str) -> set[str]:
    """Field keys a condition reads; refuses a malformed condition."""
    if not isinstance(cond, Mapping):
        raise WorkflowDefinitionError(source, f"{where}: a condition must be a table")
    if "any" in cond or "all" in cond:
        op = "any" if "any" in cond else "all"
        if not isinstance(cond[op], list) or not cond[op]:
            raise WorkflowDefinitionError(source, f"{where}: '{op}' needs a list of conditions")
        keys: set[str] = set()
        for sub in cond[op]:
            keys |= condition_keys(sub, where, source)
        return keys
    if "not" in cond:
        return condition_keys(cond["not"], where, source)
    if not isinstance(cond.get("key"), str):
        raise WorkflowDefinitionError(source, f"{where}: a condition needs 'key' (or any/all/not)")
    ops = set(cond) - {"key"}
    if len(ops) != 1 or not ops <= {"eq", "in", "set"}:
        raise WorkflowDefinitionError(source, f"{where}: a condition on '{cond['key']}' needs exactly one of eq, in, set")
    return {cond["key"]}


def check(defn: WorkflowDefinition, known_workflows: Mapping[str, WorkflowDefinition] | None = None) -> WorkflowDefinition:
    """Return the definition unchanged, or raise WorkflowDefinitionError naming the first problem."""
    src = defn.source

    def fail(problem: str) -> None:
        raise WorkflowDefinitionError(src, problem)

    for kind, names in (
        ("state", [s.name for s in defn.states]),
        ("event", [e.name for e in defn.events]),
        ("field", [f.key for f in defn.fields]),
        ("deadline", [d.name for d in defn.deadlines]),
    ):
        dups = _duplicates(names)
        if dups:
            fail(f"duplicate {kind} name(s): {', '.join(dups)}")
    if not defn.states:
        fail("it has no states")
    if not defn.has_state(defn.initial):
        fail(f"initial state '{defn.initial}' is not a declared state")

    fields = {f.key: f for f in defn.fields}
    for f in defn.fields:
        if f.type not in FIELD_TYPES:
            fail(f"field '{f.key}' has unknown type '{f.type}' (known: {', '.join(sorted(FIELD_TYPES))})")
        if f.type == "choice" and not f.choices:
            fail(f"choice field '{f.key}' lists no choices")
        if f.confirm and f.type != "bool":
            fail(f"field '{f.key}' is a confirmation but not of type bool")
    for key in defn.core_fields:
        if key not in fields:
            fail(f"core field '{key}' is not declared among the fields")
    if defn.note_field is not None and defn.note_field not in fields:
        fail(f"note_field '{defn.note_field}' is not a declared field")

    final = set(defn.final_states())
    for e in defn.events:
        where = f"event '{e.name}'"
        if not e.sources:
            fail(f"{where} has no source state")
        for s in e.sources:
            if not defn.has_state(s):
                fail(f"{where} starts from unknown state '{s}'")
            if s in final:
                fail(f"final state '{s}' has an exit: event '{e.name}'")
        if not defn.has_state(e.dest):
            fail(f"{where} leads to unknown state '{e.dest}'")
        if not e.roles:
            fail(f"{where} names no role that may fire it")
        for r in e.roles:
            if r not in ROLES:
                fail(f"{where} names unknown role '{r}' (known: {', '.join(sorted(ROLES))})")
        for req in e.requires:
            if req.key not in fields:
                fail(f"{where} requires unknown field '{req.key}'")
            if req.when is not None:
                for k in condition_keys(req.when, f"{where} requirement '{req.key}'", src):
                    if k not in fields:
                        fail(f"{where}: the condition on '{req.key}' reads unknown field '{k}'")
        for rule in e.rules:
            registered = rule_kinds.get(rule.kind)
            if rule.kind not in RULE_KINDS and registered is None:
                known = sorted(RULE_KINDS | set(rule_kinds.registry()))
                fail(f"{where} uses unknown rule '{rule.kind}' (known: {', '.join(known)})")
            if registered is not None and registered.validate is not None:
                problem = registered.validate(defn, rule)
                if problem:
                    fail(f"{where}: rule '{rule.kind}' {problem}")
            params = registered.field_params if registered is not None else _RULE_FIELD_PARAMS[rule.kind]
            for param in params:
                value = rule.params.get(param)
                for k in [value] if isinstance(value, str) else list(value or []):
                    if k not in fields:
                        fail(f"{where}: rule '{rule.kind}' names unknown field '{k}'")
            if rule.kind == "condition":
                if "when" not in rule.params or "message" not in rule.params:
                    fail(f"{where}: rule 'condition' needs 'when' and 'message'")
                for k in condition_keys(rule.params["when"], f"{where} rule", src):
                    if k not in fields:
                        fail(f"{where}: a rule condition reads unknown field '{k}'")
            if rule.kind == "max_term":
                for param in ("start", "end", "selector", "limits"):
                    if not isinstance(rule.params.get(param), str):
                        fail(f"{where}: rule 'max_term' needs '{param}'")
                if rule.params.get("start_from", "values") not in ("values", "stored"):
                    fail(f"{where}: rule 'max_term' has start_from '{rule.params['start_from']}'; use 'values' or 'stored'")
            if rule.kind == "max_times" and not (
                isinstance(rule.params.get("limit"), int)
                or (isinstance(rule.params.get("limits"), str) and isinstance(rule.params.get("selector"), str))
            ):
                fail(f"{where}: rule 'max_times' needs a whole number 'limit', or 'limits' and 'selector'")
            if rule.kind == "max_times" and not isinstance(rule.params.get("event"), str):
                fail(f"{where}: rule 'max_times' needs 'event'")
            if rule.kind == "max_times" and rule.params.get("event") and not defn.has_event(rule.params["event"]):
                fail(f"{where}: rule 'max_times' counts unknown event '{rule.params['event']}'")
        if e.creates is not None:
            c = e.creates
            target = defn if c.workflow == defn.name else (known_workflows or {}).get(c.workflow)
            if target is None:
                fail(f"{where} creates an agreement in unknown workflow '{c.workflow}'")
            elif not target.has_state(c.state):
                fail(f"{where} creates an agreement in unknown state '{c.state}'")
            for k in list(c.copy) + list(c.set):
                if k not in fields:
                    fail(f"{where} creates: unknown field '{k}'")

    # Every state must be reachable from the initial one, and every non-final state must
    # have a way out: otherwise an agreement could hang there for ever.
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
            fail(f"state '{s.name}' is unreachable from the initial state '{defn.initial}'")
        if not s.final and not defn.events_from(s.name):
            fail(f"state '{s.name}' is not final but no event leaves it")
    if not final:
        fail("it has no final state")

    t = defn.timing
    if t.ends_field is not None and (t.ends_field not in fields or fields[t.ends_field].type != "date"):
        fail(f"[timing] ends_field '{t.ends_field}' is not a date field")
    if t.step_rule is not None and t.step_rule not in {x.name for x in defn.deadlines}:
        fail(f"[timing] step_rule '{t.step_rule}' is not a deadline rule")
    for d in defn.deadlines:
        where = f"deadline '{d.name}'"
        if d.action not in DEADLINE_ACTIONS:
            fail(f"{where} has unknown action '{d.action}' (known: {', '.join(sorted(DEADLINE_ACTIONS))})")
        if not d.states:
            fail(f"{where} names no state")
        for s in d.states:
            if not defn.has_state(s):
                fail(f"{where} names unknown state '{s}'")
            if s in final:
                fail(f"{where} runs in final state '{s}'")
        if d.action == "fire":
            if not d.event or not defn.has_event(d.event):
                fail(f"{where} fires unknown event '{d.event}'")
            if "system" not in defn.event(d.event).roles:
                fail(f"{where} fires event '{d.event}', which the role 'system' may not fire")
        if d.action == "notify" and not d.template:
            fail(f"{where} notifies but names no template")
        if d.counts_from is not None and d.counts_from not in {x.name for x in defn.deadlines}:
            fail(f"{where} counts from unknown deadline '{d.counts_from}'")
        if d.overdue_template and not (d.overdue_notify or d.notify):
            fail(f"{where} has an overdue_template but nobody to notify")
        if d.skip_if_ending and not (defn.timing.ends_field and defn.timing.step_rule):
            fail(f"{where} is skip_if_ending but [timing] names no ends_field and step_rule")
        for r in d.notify + d.cc + d.overdue_notify + d.overdue_cc:
            if r not in RECIPIENTS:
                fail(f"{where} notifies unknown recipient '{r}' (known: {', '.join(sorted(RECIPIENTS))})")
        if d.anchor.startswith("yearly:"):
            # a day of the year (MM-DD) in the year after a date field's (engine.lifecycle.plan_periods)
            parts = d.anchor.split(":")
            if len(parts) != 3 or not re.fullmatch(r"\d{2}-\d{2}", parts[1]) or parts[2] not in fields:
                fail(f"{where} has anchor '{d.anchor}'; use 'yearly:MM-DD:<date field>'")
        elif d.anchor.startswith("plan_period:"):
            # the end of the planning period the field's reference cites (workflows.plans)
            if d.anchor[12:] not in fields:
                fail(f"{where} has anchor '{d.anchor}', which names no declared field")
        elif d.anchor != "entered":
            if not d.anchor.startswith("field:") or d.anchor[6:] not in fields:
                fail(f"{where} has anchor '{d.anchor}'; use 'entered' or 'field:<date field>'")
            elif fields[d.anchor[6:]].type != "date":
                fail(f"{where} is anchored on '{d.anchor[6:]}', which is not a date field")
        if isinstance(d.days, Mapping):
            for s in d.days:
                if s not in d.states:
                    fail(f"{where} gives days for state '{s}', which it does not run in")
            for s in d.states:
                if s not in d.days:
                    fail(f"{where} gives no days for state '{s}'")
        if d.repeat_days is not None and (not isinstance(d.repeat_days, int) or d.repeat_days < 1):
            fail(f"{where}: repeat_days must be a whole number of days from 1")
        if d.when is not None:
            for k in condition_keys(d.when, where, src):
                if k not in fields:
                    fail(f"{where}: the condition reads unknown field '{k}'")
    return defn
