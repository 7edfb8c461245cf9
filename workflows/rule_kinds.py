"""The registry of rule kinds beyond the built-in ones of ``guards.check_rule``.

A rule kind is a pure function ``check(defn, rule, view, values, stored, supplied)`` that
returns a ``guards.Problem`` or None, plus the names of its parameters that name fields (so
the definition checker catches a typo) and an optional ``validate(defn, rule)`` returning a
sentence when the rule's parameters are unusable. Kinds register themselves with ``@kind``
in the modules listed in ``_MODULES``; the registry is filled the first time it is asked.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

_MODULES = ("workflows.evaluation_rules", "workflows.agreement_rules", "workflows.bmd_rules")


@dataclass(frozen=True)
class RuleKind:
    name: str
    check: Callable[..., Any]
    field_params: tuple[str, ...] = ()
    validate: Callable[..., str | None] | None = None


_REGISTRY: dict[str, RuleKind] = {}
_loaded = False


def kind(name: str, *, field_params: tuple[str, ...] = (), validate: Callable[..., str | None] | None = None):
    """Register the decorated function as rule kind ``name``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = RuleKind(name, fn, field_params, validate)
        return fn

    return register


def registry() -> dict[str, RuleKind]:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _MODULES:
            importlib.import_module(module)
    return _REGISTRY


def get(name: str) -> RuleKind | None:
    return registry().get(name)
