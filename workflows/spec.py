"""Workflow definitions as frozen values, parsed from plain data (TOML tables).

A definition is data: states, events, the fields events require, rules that check values,
and deadline rules the daemon turns into rows. Nothing here knows of databases, the
transitions library or e-mail; ``workflows.checks`` refuses a broken definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import Any, Mapping

from .wording import N_, LazyText

FIELD_TYPES = frozenset({"text", "date", "bool", "choice", "reference", "number", "opd"})
ROLES = frozenset({"opd", "secretariat", "tkksd", "chair", "admin", "system"})
RULE_KINDS = frozenset({"not_future", "after", "increases", "condition", "no_open_overlap", "max_term", "max_times"})
DEADLINE_ACTIONS = frozenset({"notify", "fire"})
RECIPIENTS = frozenset({"lead_opd_head", "secretariat", "chair"})


class WorkflowDefinitionError(ValueError):
    """A definition that cannot be used; the message names the definition and the problem."""

    def __init__(self, source: str, problem: str):
        self.source = source
        self.problem = problem
        super().__init__(_("workflow definition {source}: {problem}").format(source=source, problem=problem))


@dataclass(frozen=True)
class Label:
    id: str
    en: str

    def get(self, lang: str = "id") -> str:
        return self.en if lang == "en" else self.id


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    label: Label
    choices: tuple[str, ...] = ()
    confirm: bool = False  # a bool that counts as supplied only when it is true


@dataclass(frozen=True)
class Requirement:
    key: str
    when: Mapping[str, Any] | None = None  # a condition on the data; required only when it holds
    fresh: bool = False  # must be supplied with this very event (a new end date, a reason)


@dataclass(frozen=True)
class Rule:
    kind: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Creates:
    """A follow-up agreement the event creates in the same transaction (KB -> PKS)."""

    workflow: str
    state: str
    title: str  # a str.format template over the parent's values
    copy: tuple[str, ...] = ()
    set: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    name: str
    label: Label
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    requires: tuple[Requirement, ...] = ()
    rules: tuple[Rule, ...] = ()
    creates: Creates | None = None
    notice: str = "transition"  # the message template sent to the lead OPD when it happens ("" for none)


@dataclass(frozen=True)
class State:
    name: str
    label: Label
    final: bool = False


@dataclass(frozen=True)
class DeadlineRule:
    """While an agreement is in one of ``states``, a deadline falls due ``days`` after ``anchor``.

    ``anchor`` is ``entered`` (the moment the state was entered) or ``field:<key>`` (a date
    value). ``days`` may be one number, a list (one deadline each, e.g. expiry warnings at
    -180, -90 and -30), or a table by state. ``setting`` names the configuration table whose
    values override ``days`` (per state for a table). ``repeat_days`` makes it fall due again
    every so many days until the agreement leaves the states. ``action`` is ``notify`` (a
    message from ``template`` to ``notify``/``cc``) or ``fire`` (``event`` fired by the system).

    Time-keeping (what a late deadline still means):

    * ``counts_from``: the rule whose due date is the real deadline this one is about; an
      escalation counts its delay from the step's deadline, not from its own repetition.
    * ``grace_days``: the agreement is *hanging* once this rule's deadline is more than
      ``grace_days`` past while it is still in the rule's states (a step far over its time, a
      KB/MoU past its follow-up deadline without a decision).
    * ``overdue_template`` / ``overdue_notify`` / ``overdue_cc``: a notice sent after its own
      deadline has passed (a catch-up) asks for nothing "by" a past date: it is sent as this
      escalation instead, saying how late it is.
    * ``skip_if_ending``: a ``fire`` that opens a step is not fired for an agreement that ends
      (``[timing] ends_field``) before that step's deadline would fall due.
    """

    name: str
    states: tuple[str, ...]
    action: str
    anchor: str = "entered"
    days: int | tuple[int, ...] | Mapping[str, int] = 0
    extra_days: int = 0
    setting: str | None = None
    repeat_days: int | None = None
    event: str | None = None
    template: str | None = None
    notify: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    when: Mapping[str, Any] | None = None
    skip_if_children: bool = False
    counts_from: str | None = None
    grace_days: int | None = None
    overdue_template: str | None = None
    overdue_notify: tuple[str, ...] = ()
    overdue_cc: tuple[str, ...] = ()
    skip_if_ending: bool = False


@dataclass(frozen=True)
class Timing:
    """What the definition's time-keeping relies on (``[timing]``): ``ends_field`` is the date
    value that ends an agreement (its expiry), ``step_rule`` the deadline rule that is each
    step's deadline (evaluation reports, reminders)."""

    ends_field: str | None = None
    step_rule: str | None = None


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    version: int
    label: Label
    id_prefix: str
    initial: str
    states: tuple[State, ...]
    events: tuple[Event, ...]
    fields: tuple[Field, ...]
    deadlines: tuple[DeadlineRule, ...] = ()
    note_field: str | None = None  # `--note` counts as this field when an event requires it
    core_fields: tuple[str, ...] = ("title", "partner", "lead_opd")
    settings: Mapping[str, Any] = field(default_factory=dict)  # definition-level defaults (limits)
    source: str = "<memory>"
    timing: Timing = Timing()

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @cached_property
    def _index(self) -> tuple[dict[str, State], dict[str, Event], dict[str, Field], dict[str, tuple[Event, ...]]]:
        # Looked up several times in every transition: by name, not by scanning the tuples.
        # (A cached_property writes the instance's __dict__ directly, which a frozen dataclass allows.)
        # The first of duplicate names wins, as a scan would have it (the checker refuses duplicates).
        return (
            _first_by(self.states, "name"),
            _first_by(self.events, "name"),
            _first_by(self.fields, "key"),
            {s.name: tuple(e for e in self.events if s.name in e.sources) for s in self.states},
        )

    def state(self, name: str) -> State:
        return self._index[0][name]

    @cached_property
    def _deadlines_by_state(self) -> dict[str, tuple[DeadlineRule, ...]]:
        # Planned in every transition: the rules of each state are picked once per definition.
        return {s.name: tuple(r for r in self.deadlines if s.name in r.states) for s in self.states}

    def deadlines_in(self, state: str) -> tuple[DeadlineRule, ...]:
        """The deadline rules that run while an agreement is in ``state``, in definition order."""
        return self._deadlines_by_state.get(state, ())

    def event(self, name: str) -> Event:
        return self._index[1][name]

    def field(self, key: str) -> Field:
        return self._index[2][key]

    def has_state(self, name: str) -> bool:
        return name in self._index[0]

    def has_event(self, name: str) -> bool:
        return name in self._index[1]

    def has_field(self, key: str) -> bool:
        return key in self._index[2]

    def events_from(self, state: str) -> tuple[Event, ...]:
        found = self._index[3].get(state)
        return found if found is not None else tuple(e for e in self.events if state in e.sources)

    def final_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states if s.final)


def _first_by(items: tuple, attr: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        out.setdefault(getattr(item, attr), item)
    return out


# ---------------------------------------------------------------- parsing plain data


def _label(raw: Any, where: str | LazyText, source: str) -> Label:
    if isinstance(raw, str):
        return Label(raw, raw)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("en"), str):
        raise WorkflowDefinitionError(source, _("{where} needs a label with 'id' and 'en' texts").format(where=where))
    return Label(raw["id"], raw["en"])


def _part(where: LazyText, key: str) -> LazyText:
    """A key of a table, for a sentence about it: ``'roles' of event 'sign'``."""
    return LazyText(N_("'{key}' of {where}"), key=key, where=where)


def _strs(raw: Any, where: str | LazyText, source: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, (list, tuple)) or not all(isinstance(x, str) for x in raw):
        raise WorkflowDefinitionError(source, _("{where} must be a list of names").format(where=where))
    return tuple(raw)


def _only(raw: Mapping[str, Any], allowed: set[str], where: str | LazyText, source: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise WorkflowDefinitionError(source, _("{where} has unknown key(s) {keys}").format(where=where, keys=', '.join(unknown)))


def _requirement(raw: Any, where: str | LazyText, source: str) -> Requirement:
    if isinstance(raw, str):
        return Requirement(raw)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
        raise WorkflowDefinitionError(source, _("{where}: a requirement is a field key or a table with 'key'")
            .format(where=where))
    _only(raw, {"key", "when", "fresh"}, where, source)
    return Requirement(raw["key"], raw.get("when"), bool(raw.get("fresh", False)))


def parse(data: Mapping[str, Any], source: str = "<memory>") -> WorkflowDefinition:
    """Build a definition from plain data; shape errors raise WorkflowDefinitionError."""
    _only(
        data,
        {"name", "version", "label", "id_prefix", "initial", "states", "events", "fields", "deadlines", "note_field", "settings",
         "timing"},
        LazyText(N_("the definition")),
        source,
    )
    for key in ("name", "version", "initial", "states", "events"):
        if key not in data:
            raise WorkflowDefinitionError(source, _("the definition lacks '{key}'").format(key=key))
    name = data["name"]
    version = data["version"]
    if not isinstance(name, str) or not name:
        raise WorkflowDefinitionError(source, _("'name' must be a non-empty text"))
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WorkflowDefinitionError(source, _("'version' must be a whole number from 1"))
    source = f"{name} v{version} ({source})"

    states = [_state(raw, i, source) for i, raw in enumerate(data["states"])]
    fields = [_field(raw, i, source) for i, raw in enumerate(data.get("fields", []))]
    events = [_event(raw, i, name, str(data["initial"]), source) for i, raw in enumerate(data["events"])]
    deadlines = [_deadline(raw, i, source) for i, raw in enumerate(data.get("deadlines", []))]
    timing = _timing(data.get("timing", {}), source)

    return WorkflowDefinition(
        name=name,
        version=version,
        label=_label(data.get("label", name), LazyText(N_("the definition")), source),
        id_prefix=str(data.get("id_prefix", "KS")),
        initial=str(data["initial"]),
        states=tuple(states),
        events=tuple(events),
        fields=tuple(fields),
        deadlines=tuple(deadlines),
        note_field=data.get("note_field"),
        settings=dict(data.get("settings", {})),
        source=source,
        timing=timing,
    )


def _state(raw: Any, i: int, source: str) -> State:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise WorkflowDefinitionError(source, _("state #{number} needs a 'name'").format(number=i + 1))
    where = LazyText(N_("state '{name}'"), name=raw["name"])
    _only(raw, {"name", "label", "final"}, where, source)
    return State(raw["name"], _label(raw.get("label"), where, source), bool(raw.get("final", False)))


def _field(raw: Any, i: int, source: str) -> Field:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
        raise WorkflowDefinitionError(source, _("field #{number} needs a 'key'").format(number=i + 1))
    where = LazyText(N_("field '{key}'"), key=raw["key"])
    _only(raw, {"key", "type", "label", "choices", "confirm"}, where, source)
    return Field(
        raw["key"],
        str(raw.get("type", "")),
        _label(raw.get("label"), where, source),
        _strs(raw.get("choices", []), _part(where, "choices"), source),
        bool(raw.get("confirm", False)),
    )


def _event(raw: Any, i: int, workflow: str, initial: str, source: str) -> Event:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise WorkflowDefinitionError(source, _("event #{number} needs a 'name'").format(number=i + 1))
    where = LazyText(N_("event '{name}'"), name=raw["name"])
    _only(raw, {"name", "label", "from", "to", "roles", "requires", "rules", "creates", "notice"}, where, source)
    if not isinstance(raw.get("to"), str):
        raise WorkflowDefinitionError(source, _("{where} needs a destination 'to'").format(where=where))
    rules = []
    for r in raw.get("rules", []):
        if not isinstance(r, Mapping) or not isinstance(r.get("rule"), str):
            raise WorkflowDefinitionError(source, _("{where}: a rule is a table with 'rule'").format(where=where))
        rules.append(Rule(r["rule"], {k: v for k, v in r.items() if k != "rule"}))
    creates = _creates(raw["creates"], where, workflow, initial, source) if "creates" in raw else None
    return Event(
        raw["name"],
        _label(raw.get("label", raw["name"]), where, source),
        _strs(raw.get("from", []), _part(where, "from"), source),
        raw["to"],
        _strs(raw.get("roles", []), _part(where, "roles"), source),
        tuple(_requirement(r, where, source) for r in raw.get("requires", [])),
        tuple(rules),
        creates,
        str(raw.get("notice", "transition")),
    )


def _creates(c: Any, where: str | LazyText, workflow: str, initial: str, source: str) -> Creates:
    """The follow-up an event opens; by default in the same workflow's initial state."""
    if not isinstance(c, Mapping):
        raise WorkflowDefinitionError(source, _("{where}: 'creates' must be a table").format(where=where))
    _only(c, {"workflow", "state", "title", "copy", "set"}, _part(where, "creates"), source)
    return Creates(
        str(c.get("workflow", workflow)),
        str(c.get("state", initial)),
        str(c.get("title", "{title}")),
        _strs(c.get("copy", []), _part(where, "creates.copy"), source),
        dict(c.get("set", {})),
    )


_DEADLINE_KEYS = {
    "name", "states", "action", "anchor", "days", "extra_days", "setting", "repeat_days", "event", "template", "notify",
    "cc", "when", "skip_if_children", "counts_from", "grace_days", "overdue_template", "overdue_notify", "overdue_cc",
    "skip_if_ending",
}


def _deadline(raw: Any, i: int, source: str) -> DeadlineRule:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise WorkflowDefinitionError(source, _("deadline #{number} needs a 'name'").format(number=i + 1))
    where = LazyText(N_("deadline '{name}'"), name=raw["name"])
    _only(raw, _DEADLINE_KEYS, where, source)
    days = raw.get("days", 0)
    if isinstance(days, list):
        days = tuple(days)
    elif isinstance(days, Mapping):
        days = dict(days)
    return DeadlineRule(
        raw["name"],
        _strs(raw.get("states", []), _part(where, "states"), source),
        str(raw.get("action", "")),
        str(raw.get("anchor", "entered")),
        days,
        int(raw.get("extra_days", 0)),
        raw.get("setting"),
        raw.get("repeat_days"),
        raw.get("event"),
        raw.get("template"),
        _strs(raw.get("notify", []), _part(where, "notify"), source),
        _strs(raw.get("cc", []), _part(where, "cc"), source),
        raw.get("when"),
        bool(raw.get("skip_if_children", False)),
        raw.get("counts_from"),
        None if raw.get("grace_days") is None else int(raw["grace_days"]),
        raw.get("overdue_template"),
        _strs(raw.get("overdue_notify", []), _part(where, "overdue_notify"), source),
        _strs(raw.get("overdue_cc", []), _part(where, "overdue_cc"), source),
        bool(raw.get("skip_if_ending", False)),
    )


def _timing(raw: Any, source: str) -> Timing:
    if not isinstance(raw, Mapping):
        raise WorkflowDefinitionError(source, _("'timing' must be a table"))
    _only(raw, {"ends_field", "step_rule"}, "[timing]", source)
    return Timing(raw.get("ends_field"), raw.get("step_rule"))
