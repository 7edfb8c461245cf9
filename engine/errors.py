"""The engine's errors: one small tree, each carrying its context and a plain sentence.

    TkksdError
    ├── NotFound            unknown agreement, user, OPD or workflow
    ├── InvalidInput        a malformed value, an unknown field, a bad argument
    ├── PermissionDenied    the acting user lacks the role or the OPD
    ├── TransitionRefused
    │   ├── EventNotAllowed     the event does not leave the current state
    │   └── RequirementsMissing the event's requirements or rules are not met
    ├── Conflict            another change won the race; nothing was written
    │   └── AlreadyDone     the same event was fired by someone else first
    │   └── ImportConflicts a sheet would rewind agreements or overwrite what changed since
    ├── ImportRefused       a sheet with bad rows; nothing was imported
    ├── MigrationRefused    a workflow migration that would strand agreements
    ├── DatabaseNotReady    no schema yet, or an older one: run `tkksd init`
    ├── AuditFailure        the history chain does not verify
    ├── ConfigurationError  settings, directory or definitions that cannot be used
    └── DatabaseUnavailable the database cannot be written or waited for (locked, read-only)

The CLI prints ``str(error)`` as one sentence and exits non-zero; nothing prints a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


class TkksdError(Exception):
    exit_code = 1

    def __str__(self) -> str:  # one sentence, whatever the subclass stored
        return self.args[0] if self.args else self.__class__.__name__


class NotFound(TkksdError):
    exit_code = 3


class InvalidInput(TkksdError):
    exit_code = 2


class PermissionDenied(TkksdError):
    exit_code = 4


class TransitionRefused(TkksdError):
    exit_code = 5

    def __init__(self, message: str, *, agreement: str, event: str, state: str):
        super().__init__(message)
        self.agreement = agreement
        self.event = event
        self.state = state


class EventNotAllowed(TransitionRefused):
    def __init__(self, *, agreement: str, event: str, state: str, allowed: Sequence[str]):
        allowed_text = ", ".join(allowed) if allowed else "none (the state is final)"
        super().__init__(
            f"Event '{event}' is not allowed for {agreement} in state '{state}'; allowed now: {allowed_text}.",
            agreement=agreement,
            event=event,
            state=state,
        )
        self.allowed = tuple(allowed)


class RequirementsMissing(TransitionRefused):
    def __init__(self, *, agreement: str, event: str, state: str, missing: Sequence[str], problems: Sequence[str]):
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        parts.extend(problems)
        super().__init__(
            f"Cannot fire '{event}' on {agreement}: " + "; ".join(parts) + ".",
            agreement=agreement,
            event=event,
            state=state,
        )
        self.missing = tuple(missing)
        self.problems = tuple(problems)


class Conflict(TkksdError):
    exit_code = 6

    def __init__(self, *, agreement: str, expected_version: int, event: str):
        super().__init__(
            f"Conflict: {agreement} was changed by someone else while '{event}' was being fired "
            f"(it is no longer at version {expected_version}); nothing was written, look at it again and retry."
        )
        self.agreement = agreement
        self.expected_version = expected_version


class AlreadyDone(Conflict):
    """The same event was just fired by someone else: the user's intent met a change that won."""

    def __init__(self, *, agreement: str, event: str, by: str, at: str, state: str):
        TkksdError.__init__(
            self,
            f"Conflict: '{event}' was already fired on {agreement} by {by} at {at} (it is now in state '{state}'); "
            "nothing was written.",
        )
        self.agreement = agreement
        self.event = event
        self.by = by


class ImportConflicts(Conflict):
    """Rows of a sheet that would move agreements backwards or overwrite what changed in tkksd
    since they were imported; nothing was imported (``--skip-conflicts`` applies the rest)."""

    def __init__(self, path: str, problems: Sequence[Any], *, total: int | None = None):
        self.path = path
        self.problems = list(problems)  # the first ones, when a large sheet has many
        self.total = len(self.problems) if total is None else total
        named = ", ".join(p.agreement for p in self.problems[:10]) + (" ..." if self.total > 10 else "")
        TkksdError.__init__(
            self,
            f"{Path(path).name}: {self.total} row(s) conflict with what tkksd holds ({named}); nothing was "
            "imported (--skip-conflicts imports the other rows and leaves these agreements as they are).",
        )
        self.agreement = self.problems[0].agreement if self.problems else ""


class ImportRefused(TkksdError):
    """The sheet has problems; nothing was written."""

    exit_code = 2

    def __init__(self, path: str, problems: Sequence[Any], *, total: int | None = None, rows: int | None = None):
        self.path = path
        self.problems = list(problems)  # the first ones, when a large sheet has many
        self.total = len(self.problems) if total is None else total
        rows = len({p.row for p in self.problems}) if rows is None else rows
        super().__init__(f"{Path(path).name}: {self.total} problem(s) in {rows} row(s); nothing was imported.")


class MigrationRefused(TkksdError):
    """A migration that would strand an agreement; nothing was changed."""

    exit_code = 5

    def __init__(self, message: str, *, workflow: str, from_version: int, to_version: int, blocked: Sequence[Any]):
        super().__init__(message)
        self.workflow = workflow
        self.from_version = from_version
        self.to_version = to_version
        self.blocked = tuple(blocked)


class DatabaseNotReady(TkksdError):
    exit_code = 7


class AuditFailure(TkksdError):
    exit_code = 8


class ConfigurationError(TkksdError):
    exit_code = 9


class RoundConflict(TkksdError):
    """An evaluation round that cannot be opened or closed as asked (issue 16): another is open,
    or this one is already closed. The message says which."""

    exit_code = 6


class DatabaseUnavailable(TkksdError):
    exit_code = 10
