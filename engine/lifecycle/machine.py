"""The transitions binding: one shared machine per workflow shape, one throwaway subject per
decision (docs/architecture.md).

The machine decides whether an event leaves the current state and where it leads; its
condition runs the definition's guards, so a trigger that returns False means requirements
are missing, and an event that does not leave the state raises ``MachineError`` (the normal
refusal path: the kernel turns it into ``EventNotAllowed``). ``auto_transitions=False``: no
``to_<state>()`` shortcut can skip the lifecycle. The machine never touches the database.

The subject is never attached to the machine (``Event.trigger`` takes the model it acts on),
so nothing accumulates in ``machine.models`` and a decision costs one small object.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Callable

from transitions import Machine, MachineError

from workflows.spec import WorkflowDefinition

from engine.lifecycle.per_definition import by_identity

# transitions logs every trigger at INFO; the kernel writes its own history instead.
logging.getLogger("transitions").setLevel(logging.WARNING)

Shape = tuple[str, int, tuple[str, ...], tuple[tuple[str, tuple[str, ...], str], ...]]


class Subject:
    """What the machine sees of an agreement for one decision."""

    def __init__(self, state: str, guard: Callable[[str], bool]):
        self.lifecycle_state = state
        self.guard = guard


def _passes_guard(event_data: Any) -> bool:
    return event_data.model.guard(event_data.event.name)


def shape_of(defn: WorkflowDefinition) -> Shape:
    """What the machine is built from: two definitions of the same shape share a machine."""
    return (defn.name, defn.version, tuple(s.name for s in defn.states),
            tuple((e.name, tuple(e.sources), e.dest) for e in defn.events))


@lru_cache(maxsize=64)
def _machine(shape: Shape) -> Machine:
    _name, _version, states, transitions = shape
    return Machine(
        model=None,
        states=list(states),
        transitions=[
            {"trigger": name, "source": list(sources), "dest": dest, "conditions": _passes_guard}
            for name, sources, dest in transitions
        ],
        initial=None,
        auto_transitions=False,
        send_event=True,
        model_attribute="lifecycle_state",
        ignore_invalid_triggers=False,
    )


@by_identity(1)
def machine_for(defn: WorkflowDefinition) -> Machine:
    """The machine of ``defn``: its shape is worked out once per definition, not per decision."""
    return _machine(shape_of(defn))


def allowed_events(defn: WorkflowDefinition, state: str) -> list[str]:
    return sorted(machine_for(defn).get_triggers(state))


def run_event(defn: WorkflowDefinition, state: str, event: str, guard: Callable[[str], bool]) -> str | None:
    """Fire ``event`` from ``state``; the new state, or None when the guard refused it.

    Raises ``MachineError`` when the event is not declared or does not leave ``state``.
    """
    machine = machine_for(defn)
    trigger = machine.events.get(event)
    if trigger is None:
        raise MachineError(f"'{event}' is not an event of {defn.name} v{defn.version}")
    subject = Subject(state, guard)
    moved = trigger.trigger(subject)
    return subject.lifecycle_state if moved else None


__all__ = ["MachineError", "Subject", "allowed_events", "machine_for", "run_event"]
