"""The transitions binding: one shared machine per definition, agreements attached one unit of
work at a time with their stored state, no auto transitions, nothing left attached."""

from __future__ import annotations

import pytest

from engine.lifecycle.machine import MachineError, Subject, allowed_events, machine_for, run_event
from workflows import load_registry
from workflows.spec import parse


@pytest.fixture
def ks():
    defn = load_registry().latest("kerja-sama")
    # The machine keeps one attached model per definition for reuse; attach it now, so that a
    # test counting the machine's models sees the same number whether or not an earlier test
    # (in a random order) used this machine already.
    run_event(defn, "proposed", "identify", lambda e: False)
    return defn


def test_no_auto_transitions(ks):
    machine = machine_for(ks)
    assert machine.auto_transitions is False
    seen = []

    def guard(name):
        seen.append(name)
        return True

    subject = Subject("proposed", guard)
    machine.add_model(subject, initial="proposed")
    try:
        assert not any(name.startswith("to_") for name in dir(subject))
        assert not any(t.startswith("to_") for s in ks.states for t in machine.get_triggers(s.name))
    finally:
        machine.remove_model(subject)


def test_one_machine_per_definition(ks, mini):
    assert machine_for(ks) is machine_for(ks)
    other = parse(mini)
    assert machine_for(other) is not machine_for(ks)


def test_stored_state_is_kept_when_attached(ks):
    # Were the subject reset to the initial state 'proposed', `identify` would pass and
    # `integrate` would fail; from the stored 'signed' it is the other way round.
    assert run_event(ks, "signed", "integrate", lambda e: True) == "integrated"
    with pytest.raises(MachineError):
        run_event(ks, "signed", "identify", lambda e: True)
    assert run_event(ks, "under_evaluation", "revise", lambda e: True) == "verified"
    assert run_event(ks, "integrated", "upgrade", lambda e: True) == "integrated"


def test_refused_guard_returns_none_and_the_guard_sees_the_event(ks):
    seen = []
    assert run_event(ks, "identified", "verify", lambda e: seen.append(e) or False) is None
    assert seen == ["verify"]


def test_models_are_removed_after_use(ks):
    machine = machine_for(ks)
    before = len(machine.models)
    run_event(ks, "proposed", "identify", lambda e: True)
    run_event(ks, "proposed", "identify", lambda e: False)
    with pytest.raises(MachineError):
        run_event(ks, "terminated", "identify", lambda e: True)

    def boom(_):
        raise RuntimeError("guard failed")

    with pytest.raises(RuntimeError):
        run_event(ks, "proposed", "identify", boom)
    assert len(machine.models) == before


def test_allowed_events_per_state(ks):
    assert allowed_events(ks, "proposed") == ["identify", "reject", "withdraw"]
    # issue 16 adds the chair's KB decisions and re-synchronization to a running agreement
    assert allowed_events(ks, "integrated") == ["declare_not_followed_up", "expire", "extend", "give_more_time",
                                                "open_evaluation", "resynchronize", "terminate", "upgrade"]
    for final in ks.final_states():
        assert allowed_events(ks, final) == []
    for e in ks.events:
        for source in e.sources:
            assert e.name in allowed_events(ks, source)
