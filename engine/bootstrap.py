"""Settings -> the objects a command needs. The only place that constructs concrete parts."""

from __future__ import annotations

import os
from typing import Mapping

from config.settings import SettingsError, load
from workflows import WorkflowDefinitionError, load_registry

from engine.clock import from_environment
from engine.context import AppliesTo, BatchHook, Context, Hook
from engine.errors import ConfigurationError
from engine.i18n import _


def handlers() -> tuple[list[Hook], dict[Hook, BatchHook], dict[Hook, AppliesTo]]:
    """The transition handlers, wired here and nowhere else: deadlines first (the notice shows
    what falls due next), then the notice to the outbox. Each is ``handler(conn, transitioned, ctx)``.
    Also their batched forms, and which definitions the optional ones apply to."""
    from engine.lifecycle import deadlines, flags, ikn_assessment, locations, notices
    from engine.lifecycle.created_deadlines import plan_created

    # locations first: the deadlines read the IKN status it derives from the agreement's units;
    # then the date of the last IKN assessment, which the notice may show.
    # flags last: what a rule raises without stopping the event (a field outside the lead OPD's
    # urusan at identify) becomes an incident.
    return ([locations.after_transition, ikn_assessment.after_transition, deadlines.after_transition,
             notices.after_transition, flags.after_transition],
            {locations.after_transition: locations.after_transitions, deadlines.after_transition: plan_created},
            {locations.after_transition: locations.applies_to, ikn_assessment.after_transition: ikn_assessment.applies_to,
             flags.after_transition: flags.applies_to})


def _lock_wait(settings: Settings) -> float:
    value = settings.get("database", "lock_wait_seconds", 30)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(_("[database] lock_wait_seconds must be a number of seconds, not '{value}'.").format(value=value)) from None
    if not 0 < seconds <= 3600:
        raise ConfigurationError(_("[database] lock_wait_seconds must be between 0 and 3600 seconds, not {value}.").format(value=value))
    return seconds


def bootstrap(environ: Mapping[str, str] | None = None, *, check_schema: bool = True, with_hooks: bool = True) -> Context:
    from engine.store.db import check_schema as _check, make_engine

    environ = os.environ if environ is None else environ
    try:
        settings = load(environ)
        registry = load_registry(settings.paths("workflow_dirs"))
        settings.maildir  # noqa: B018 - refuses the system's mail spool before anything runs
    except (SettingsError, WorkflowDefinitionError) as exc:
        raise ConfigurationError(str(exc)) from None
    clock = from_environment(settings.timezone, environ)
    engine = make_engine(settings.database_url, lock_wait_seconds=_lock_wait(settings))
    if check_schema:
        _check(engine)
    ctx = Context(settings, engine, registry, clock)
    if with_hooks:
        ctx.hooks, ctx.batch_hooks, ctx.hook_applies = handlers()
    from engine.inventory.attachments import for_rows

    ctx.attachments = for_rows
    return ctx
