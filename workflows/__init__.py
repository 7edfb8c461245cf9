"""Workflow definitions as data, and the registry of every version that is loaded.

This package imports nothing of the rest of the project and nothing outside the standard
library: a definition can be reviewed and checked without a database.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from pathlib import Path
from typing import Iterable

from .checks import check
from .spec import WorkflowDefinition, WorkflowDefinitionError, parse

DEFINITIONS_DIR = Path(__file__).with_name("definitions")

__all__ = ["Registry", "WorkflowDefinition", "WorkflowDefinitionError", "load_file", "load_registry"]


class UnknownWorkflow(LookupError):
    """No definition of that name (or version) is loaded."""


def load_file(path: Path) -> WorkflowDefinition:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise WorkflowDefinitionError(path.name, _("is not valid TOML: {problem}").format(problem=exc)) from None
    return parse(data, path.name)


@dataclass(frozen=True)
class Registry:
    """Every loaded definition, by name and version."""

    definitions: dict[tuple[str, int], WorkflowDefinition]

    def names(self) -> list[str]:
        return sorted({name for name, _version in self.definitions})

    def versions(self, name: str) -> list[int]:
        return sorted(v for n, v in self.definitions if n == name)

    def latest(self, name: str) -> WorkflowDefinition:
        versions = self.versions(name)
        if not versions:
            raise UnknownWorkflow(_("unknown workflow '{name}' (known: {known})")
                .format(name=name, known=', '.join(self.names())))
        return self.definitions[(name, versions[-1])]

    def get(self, name: str, version: int | None = None) -> WorkflowDefinition:
        if version is None:
            return self.latest(name)
        try:
            return self.definitions[(name, version)]
        except KeyError:
            known = ", ".join(str(v) for v in self.versions(name)) or _("none")
            raise UnknownWorkflow(_("workflow '{name}' has no version {version} (loaded: {known})")
                .format(name=name, version=version, known=known)) from None

    def all(self) -> list[WorkflowDefinition]:
        return [self.definitions[k] for k in sorted(self.definitions)]


def build_registry(definitions: Iterable[WorkflowDefinition]) -> Registry:
    """Check every definition (cross-references included) and index them."""
    table: dict[tuple[str, int], WorkflowDefinition] = {}
    for d in definitions:
        if (d.name, d.version) in table:
            raise WorkflowDefinitionError(d.source, _("version {version} of '{name}' is defined twice")
                .format(version=d.version, name=d.name))
        table[(d.name, d.version)] = d
    latest = {}
    for (name, version), d in sorted(table.items()):
        latest[name] = d
    for d in table.values():
        check(d, latest)
    return Registry(table)


@lru_cache(maxsize=8)
def load_registry(extra_dirs: tuple[str, ...] = ()) -> Registry:
    """The shipped definitions plus ``*.toml`` files from ``extra_dirs`` (a deployment's own)."""
    paths = sorted(DEFINITIONS_DIR.glob("*.toml"))
    for d in extra_dirs:
        paths.extend(sorted(Path(d).glob("*.toml")))
    return build_registry(load_file(p) for p in paths)
