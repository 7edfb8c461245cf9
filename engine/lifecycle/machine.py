"""The transitions binding: one shared machine per workflow version, agreements attached one
unit of work at a time (anchors.md §1.4).

The machine decides whether an event leaves the current state and where it leads; its
condition runs the definition's guards, so a trigger that returns False means requirements
are missing. ``auto_transitions=False``: no ``to_<state>()`` shortcut can skip the lifecycle.
The machine never touches the database; the service writes the outcome in one transaction.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from transitions import Machine, MachineError

from workflows.spec import WorkflowDefinition

_MACHINES: dict[tuple[str, int, int], Machine] = {}
# Subjects already attached to a machine and free for the next unit of work: attaching and
# detaching a model costs more than the trigger itself (add_model decorates the object with
# every trigger). One subject per concurrent caller at most; list.pop/append are atomic, so
# threads never share one.
_FREE: dict[int, list["Subject"]] = {}

# transitions logs every trigger at INFO; the service writes its own history instead.
logging.getLogger("transitions").setLevel(logging.WARNING)


class Subject:
    """What the machine sees of an agreement for one unit of work."""

    def __init__(self, state: str, guard: Callable[[str], bool]):
        self.lifecycle_state = state
        self._guard = guard

    def passes_guard(self, event_data: Any) -> bool:
        return self._guard(event_data.event.name)


def machine_for(defn: WorkflowDefinition) -> Machine:
    key = (defn.name, defn.version, id(defn))
    machine = _MACHINES.get(key)
    if machine is None:
        machine = Machine(
            model=None,
            states=[s.name for s in defn.states],
            transitions=[
                {"trigger": e.name, "source": list(e.sources), "dest": e.dest, "conditions": "passes_guard"}
                for e in defn.events
            ],
            initial=None,
            auto_transitions=False,
            send_event=True,
            model_attribute="lifecycle_state",
            ignore_invalid_triggers=False,
        )
        _MACHINES[key] = machine
    return machine


def allowed_events(defn: WorkflowDefinition, state: str) -> list[str]:
    return sorted(machine_for(defn).get_triggers(state))


def run_event(defn: WorkflowDefinition, state: str, event: str, guard: Callable[[str], bool]) -> str | None:
    """Fire ``event`` from ``state``; the new state, or None when the guard refused it.

    Raises ``MachineError`` when the event does not leave ``state``.
    """
    machine = machine_for(defn)
    free = _FREE.setdefault(id(machine), [])
    try:
        subject = free.pop()
        subject.lifecycle_state = state  # the machine reads the state from this attribute
        subject._guard = guard
    except IndexError:
        subject = Subject(state, guard)
        machine.add_model(subject, initial=state)  # never the machine's default: that would reset it
    try:
        moved = subject.trigger(event)
        return subject.lifecycle_state if moved else None
    finally:
        subject._guard = _refuse
        free.append(subject)


def _refuse(_event_name: str) -> bool:
    return False


__all__ = ["MachineError", "allowed_events", "machine_for", "run_event"]
