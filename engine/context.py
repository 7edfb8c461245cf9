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
from workflows.spec import WorkflowDefinition

from engine.clock import Clock

Hook = Callable[[Connection, Any, "Context"], None]
BatchHook = Callable[[Connection, list, "Context"], None]
# Whether a hook has anything to do for agreements of a definition (e.g. the location hook
# for a workflow without a location field): asked once per definition, not per transition.
AppliesTo = Callable[[WorkflowDefinition], bool]


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
    # Which definitions a hook applies to (wired beside it; a hook not listed applies to all).
    hook_applies: dict[Hook, AppliesTo] = field(default_factory=dict)
    # The hooks that apply to each definition, as the kernel decided them: by the
    # definition's identity and version, with the hook list they were chosen from.
    hooks_by_definition: dict[tuple[int, int], tuple[Any, tuple, tuple]] = field(default_factory=dict)
    # Files a notice carries when it is sent (an .ics invitation, a digest's XLSX list):
    # ``attachments(ctx, outbox_rows) -> {row id: (Attachment, ...)}``; None sends none.
    attachments: Callable[["Context", Any], Any] | None = None

    @property
    def lang(self) -> str:
        return self.settings.language
