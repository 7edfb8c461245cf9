"""The context every engine operation runs in: settings, database engine, workflow registry,
clock and the transition hooks.

It lives here, below every engine package, so that the store, the lifecycle and the inventory
can take a ``Context`` as a parameter without importing ``engine.bootstrap``, the composition
root that builds one (and that may import any of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.engine import Connection, Engine

from config.settings import Settings
from workflows import Registry

from engine.clock import Clock

Hook = Callable[[Connection, Any, "Context"], None]
BatchHook = Callable[[Connection, list, "Context"], None]


@dataclass
class Context:
    settings: Settings
    engine: Engine
    registry: Registry
    clock: Clock
    # What runs inside every transition's transaction, in this order, after the kernel wrote the
    # state, data and history row (wired in engine.bootstrap.handlers).
    hooks: list[Hook] = field(default_factory=list)
    # The batched form of a hook, for agreements created just now (imports, the demo).
    batch_hooks: dict[Hook, BatchHook] = field(default_factory=dict)
    # Files a notice carries when it is sent (an .ics invitation, a digest's XLSX list):
    # ``attachments(ctx, outbox_rows) -> {row id: (Attachment, ...)}``; None sends none.
    attachments: Callable[["Context", Any], Any] | None = None

    @property
    def lang(self) -> str:
        return self.settings.language
