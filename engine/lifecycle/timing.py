"""What a workflow definition says about time, read from its data (``[timing]`` and the rules).

Which date ends an agreement, which deadline rule is a step's deadline, and when a rule's
deadline falls due for an agreement as it stands: the answers the catch-up sweep, the
"hanging" check and the notices share, so that none of them names a field or a rule itself.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Mapping

from workflows.spec import DeadlineRule, WorkflowDefinition

from engine.lifecycle.deadlines import as_date, rule_days, rule_of
from engine.lifecycle.per_definition import per_definition


def ends_on(defn: WorkflowDefinition, values: Mapping[str, Any]) -> date | None:
    """The date the agreement ends (the definition's ``[timing] ends_field``), if it has one."""
    field = defn.timing.ends_field
    return as_date(values.get(field)) if field else None


def ending_rules(defn: WorkflowDefinition) -> frozenset[str]:
    """The timed events that end an agreement: ``fire`` rules anchored on the ending date."""
    field = defn.timing.ends_field
    if not field:
        return frozenset()
    return frozenset(r.name for r in defn.deadlines if r.action == "fire" and r.anchor == f"field:{field}")


def ends_in_state(defn: WorkflowDefinition, state: str) -> bool:
    """Whether the ending date ends the agreement in ``state`` (an ending rule runs there)."""
    names = ending_rules(defn)
    return any(r.name in names and state in r.states for r in defn.deadlines)


def applies(rule: DeadlineRule, state: str, values: Mapping[str, Any]) -> bool:
    from workflows.guards import holds

    return state in rule.states and holds(rule.when, values)


def rule_due_day(defn: WorkflowDefinition, rule: DeadlineRule, state: str, values: Mapping[str, Any],
                 entered_day: date, settings) -> date | None:
    """The local day the first deadline of ``rule`` falls due for an agreement in ``state``
    (``None`` when the rule's anchor date is unknown)."""
    if rule.anchor == "entered":
        anchor = entered_day
    else:
        anchor = as_date(values.get(rule.anchor.split(":", 1)[1]))
        if anchor is None:
            return None
    days = rule_days(rule, state, settings)
    return anchor + timedelta(days=days[0]) if days else None


def step_days(defn: WorkflowDefinition, state: str, settings) -> int | None:
    """How many days a step in ``state`` has (the ``[timing] step_rule``), or None."""
    return _step_days(defn, settings, state)


@per_definition
def _step_days(defn: WorkflowDefinition, settings, state: str) -> int | None:
    # Every transition notice says when the new step is due: the same answer for each state.
    rule = rule_of(defn, defn.timing.step_rule) if defn.timing.step_rule else None
    if rule is None or state not in rule.states:
        return None
    days = rule_days(rule, state, settings)
    return days[0] if days else None


def counted_from(defn: WorkflowDefinition, rule: DeadlineRule, state: str, values: Mapping[str, Any],
                 entered_day: date, settings) -> date | None:
    """The deadline ``rule`` is about: its ``counts_from`` rule's due day, else None."""
    if not rule.counts_from:
        return None
    base = rule_of(defn, rule.counts_from)
    if base is None:
        return None
    return rule_due_day(defn, base, state, values, entered_day, settings)
