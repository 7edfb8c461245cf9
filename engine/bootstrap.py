"""Settings -> the objects a command needs. The only place that constructs concrete parts."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sqlalchemy.engine import Connection, Engine

from config.settings import Settings, SettingsError, load
from workflows import Registry, WorkflowDefinitionError, load_registry

from engine.clock import Clock, from_environment
from engine.errors import ConfigurationError

# Code that runs inside every transition's transaction, after the state, data and history
# row are written: deadlines (engine.lifecycle.deadlines) and notices to the outbox (engine.lifecycle.notices).
# Each is `after_transition(conn, transitioned, ctx)`; a module that is absent is skipped.
HOOKS = ("engine.lifecycle.deadlines:after_transition", "engine.lifecycle.notices:after_transition")

Hook = Callable[[Connection, Any, "Context"], None]


@dataclass
class Context:
    settings: Settings
    engine: Engine
    registry: Registry
    clock: Clock
    hooks: list[Hook] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.settings.language


def load_hooks() -> list[Hook]:
    hooks = []
    for spec in HOOKS:
        module_name, attr = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        hooks.append(getattr(module, attr))
    return hooks


def _lock_wait(settings: Settings) -> float:
    value = settings.get("database", "lock_wait_seconds", 30)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"[database] lock_wait_seconds must be a number of seconds, not '{value}'.") from None
    if not 0 < seconds <= 3600:
        raise ConfigurationError(f"[database] lock_wait_seconds must be between 0 and 3600 seconds, not {value}.")
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
        ctx.hooks = load_hooks()
    return ctx
