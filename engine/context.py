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
