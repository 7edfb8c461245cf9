"""What a transition derives from its workflow definition and the settings alone, worked out
once instead of in every transition: which deadline rules a state runs with their day offsets,
a step's deadline, the configured planning periods, the transitions machine.

A definition is a frozen value, but it holds tables (its settings), so it cannot be a
dictionary key; neither can the settings. They are remembered by identity (a definition's
identity covers its version: each version is its own object). Each entry keeps the objects it
was made from, so that an identity is never taken for another object's.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

T = TypeVar("T")

# Enough for every definition and state of a deployment; a test session that builds many
# contexts starts afresh when it is reached rather than growing without bound.
MAX_ENTRIES = 1024


def by_identity(count: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """``build(*objects, *extra)`` remembered by the identities of its first ``count``
    arguments and the value of the others (which must be hashable)."""

    def decorate(build: Callable[..., T]) -> Callable[..., T]:
        found: dict[tuple, tuple[tuple, T]] = {}

        @wraps(build)
        def cached(*args: Any) -> T:
            objects = args[:count]
            key = (*map(id, objects), *args[count:])
            hit = found.get(key)
            if hit is not None and all(a is b for a, b in zip(hit[0], objects)):
                return hit[1]
            if len(found) >= MAX_ENTRIES:
                found.clear()
            value = build(*args)
            found[key] = (objects, value)
            return value

        return cached

    return decorate


# ``build(defn, settings, *extra)``: what a definition and the configuration decide together.
per_definition = by_identity(2)
