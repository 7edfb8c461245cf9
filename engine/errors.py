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

import difflib
from pathlib import Path
from typing import Any, Mapping, Sequence

from engine.i18n import _, ngettext, number


def did_you_mean(value: str, candidates: Sequence[str]) -> str:
    """" (did you mean 'identify'?)" for a value close to one of ``candidates`` (letter case
    ignored: ``Identify`` is a typo of ``identify``), or "" when none is close. It goes inside
    the refusal's one sentence, right after the value it is about."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=3, cutoff=0.6)
    if not close:
        return ""
    return " " + _("(did you mean {names}?)").format(names=", ".join(repr(by_lower[c]) for c in close))


def labelled(code: str, label: str | None) -> str:
    """A code a person types, with its label where the label says more: ``identify`` becomes
    ``Identifikasi (identify)``; in English ``Identify`` stays ``identify``."""
    if not label or label.lower() == code.replace("_", " ").lower():
        return code
    return f"{label} ({code})"


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
    """``labels``: the reader's labels of the state and the events (code -> label), so that the
    sentence names the state as people know it and each allowed event by label and code."""

    def __init__(self, *, agreement: str, event: str, state: str, allowed: Sequence[str],
                 labels: Mapping[str, str] | None = None):
        labels = labels or {}
        allowed_text = (", ".join(labelled(a, labels.get(a)) for a in allowed) if allowed
                        else _("none (the state is final)"))
        super().__init__(
            _("Event '{event}' is not allowed for {agreement} in state {state}; allowed now: {allowed}.").format(
                event=event, agreement=agreement, state=labels.get(state, state), allowed=allowed_text),
            agreement=agreement,
            event=event,
            state=state,
        )
        self.allowed = tuple(allowed)


class RequirementsMissing(TransitionRefused):
    """``missing``: the fields not supplied, each as the reader sees it (``key (label)``);
    ``problems``: the rules that fail, one sentence each."""

    def __init__(self, *, agreement: str, event: str, state: str, missing: Sequence[str], problems: Sequence[str]):
        parts = []
        if missing:
            parts.append(_("missing {fields}").format(fields=", ".join(missing)))
        parts.extend(problems)
        super().__init__(
            _("Cannot fire '{event}' on {agreement}: {reasons}.").format(event=event, agreement=agreement,
                                                                        reasons="; ".join(parts)),
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
            _("Conflict: {agreement} was changed by someone else while '{event}' was being fired (it is no longer at "
              "version {version}); nothing was written, look at it again and retry.").format(
                agreement=agreement, event=event, version=expected_version)
        )
        self.agreement = agreement
        self.expected_version = expected_version


class AlreadyDone(Conflict):
    """The same event was just fired by someone else: the user's intent met a change that won.
    ``at`` and ``state`` as the reader reads them (a WITA time, a state label)."""

    def __init__(self, *, agreement: str, event: str, by: str, at: str, state: str):
        TkksdError.__init__(
            self,
            _("Conflict: '{event}' was already fired on {agreement} by {by} at {at} (it is now in state {state}); "
              "nothing was written.").format(event=event, agreement=agreement, by=by, at=at, state=state),
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
            ngettext("{file}: {count} row conflicts with what tkksd holds ({named}); nothing was imported "
                     "(--skip-conflicts imports the other rows and leaves these agreements as they are).",
                     "{file}: {count} rows conflict with what tkksd holds ({named}); nothing was imported "
                     "(--skip-conflicts imports the other rows and leaves these agreements as they are).",
                     self.total).format(file=Path(path).name, count=number(self.total), named=named),
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
        problems_text = ngettext("{count} problem", "{count} problems", self.total).format(count=number(self.total))
        rows_text = ngettext("{count} row", "{count} rows", rows).format(count=number(rows))
        super().__init__(_("{file}: {problems} in {rows}; nothing was imported.").format(
            file=Path(path).name, problems=problems_text, rows=rows_text))


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
