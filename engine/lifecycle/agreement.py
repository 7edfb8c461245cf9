"""An agreement as the kernel reads it: one frozen value, whatever statement read it.

Every writer of an agreement starts from this value (the ``version`` it carries is the one
the conditional UPDATE checks), so no caller tells rows apart by their shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from workflows.spec import WorkflowDefinition

# The actor of timed events and of what the daemon does on its own.
SYSTEM = "system"


@dataclass(frozen=True)
class Agreement:
    id: int
    number: str
    title: str
    partner: str
    lead_opd: str
    workflow: str
    workflow_version: int
    lifecycle_state: str
    data: Mapping[str, Any]
    parent_id: int | None
    state_entered_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int
    history_seq: int
    history_head: str
    import_key: str | None

    @classmethod
    def from_row(cls, row) -> "Agreement":
        """From a result row that holds (at least) every column of ``agreements``."""
        m = row._mapping
        return cls(**{name: m[name] for name in _COLUMNS})

    def typed_values(self, defn: WorkflowDefinition) -> dict[str, Any]:
        return typed_values(defn, self.title, self.partner, self.lead_opd, self.data)


_COLUMNS = tuple(f.name for f in dataclasses.fields(Agreement))


@dataclass(frozen=True)
class OpdEntry:
    """A directory entry as a notice addresses it (the lead OPD, read with the agreement)."""

    code: str
    name: str
    head_title: str
    head_name: str
    head_email: str


def typed_values(defn: WorkflowDefinition, title: str, partner: str, lead_opd: str,
                 data: Mapping[str, Any] | None) -> dict[str, Any]:
    """An agreement's core columns and stored data as typed values (dates as dates)."""
    values: dict[str, Any] = {"title": title, "partner": partner, "lead_opd": lead_opd}
    for key, value in (data or {}).items():
        if value is None:
            continue
        if isinstance(value, str) and defn.has_field(key) and defn.field(key).type == "date":
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        values[key] = value
    return values
