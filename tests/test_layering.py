"""The layering of the code, read from the source with ``ast`` (nothing is imported).

Packages outside the engine:

- ``workflows/`` (definitions as data, checker, guards) and ``notifiers/`` (templates, rendering,
  SMTP/Maildir) import nothing of ``engine`` or ``config``: they are libraries the engine uses,
  testable and reusable on their own.
- ``config/`` (settings) imports nothing of ``engine``.

Inside the engine, each package may import only packages at its own level or below, in this
order (lowest first)::

    engine.i18n < engine.errors < engine.clock < engine.context < engine.store < engine.lifecycle
        < engine.mail < engine.scheduler < engine.inventory < engine.bootstrap < engine.cli

Why this order, as the code stands:

- ``i18n`` (messages, dates and numbers in the reader's language) depends on nothing of the
  engine, so every layer can say things; ``errors`` is the one tree of exceptions; ``clock`` raises from it; ``context`` is the
  ``Context`` dataclass (settings, database engine, registry, clock, hooks) that every layer takes
  as a parameter. It was defined in ``engine.bootstrap``, which made the lifecycle and the
  inventory import the composition root; it now lives low, and ``bootstrap`` re-exports it.
- ``store`` (tables, database, migrations, history chain, leases, OPD directory) knows no
  workflow semantics; ``lifecycle`` decides and writes transitions on top of it (services,
  machine, deadlines, notices into the outbox, version migration).
- ``mail`` drains the outbox the lifecycle fills and renders with the lifecycle's notices, so it
  sits above it; the ``scheduler`` (daemon, sweep, simulate, doctor, digests) fires timed events
  through the lifecycle and runs the mail drain, so it sits above both.
- ``inventory`` (import/export, bulk, reports, graphs, calendars) uses the store and the
  lifecycle; nothing below uses it. It neither uses nor is used by ``mail`` and ``scheduler``;
  it is placed above them so that the order stays a single line.
- ``bootstrap`` is the composition root: it reads the settings and wires the concrete parts
  (database engine, registry, clock, the transition hooks of the lifecycle), so it may import any
  engine package; only the CLI (and tests) import it.
- ``cli`` is the top: the only edge that talks to people, and so the only engine code that prints
  (``print``, ``click.echo``/``secho``, writing to ``sys.stdout``/``sys.stderr``). The daemon logs.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a type-only
import upwards is still a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_PACKAGES = ("engine", "workflows", "notifiers", "config")

ENGINE_ORDER = (
    "engine.i18n",
    "engine.errors",
    "engine.clock",
    "engine.context",
    "engine.store",
    "engine.lifecycle",
    "engine.mail",
    "engine.scheduler",
    "engine.inventory",
    "engine.bootstrap",
    "engine.cli",
)
# Top-level packages and what they must never import.
FORBIDDEN = {
    "workflows": ("engine", "config"),
    "notifiers": ("engine", "config"),
    "config": ("engine",),
}
PRINTING_CALLS = {"print", "pprint"}
PRINTING_METHODS = {"echo", "secho"}
STD_STREAMS = {"stdout", "stderr"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # `from engine import store` imports the package engine.store.
            found += [(node.lineno, f"{name}.{alias.name}" if name in TOP_PACKAGES else name) for alias in node.names]
    return found


def engine_layer(module: str) -> str | None:
    """The package of ENGINE_ORDER that ``module`` belongs to (None for the bare ``engine``)."""
    for layer in ENGINE_ORDER:
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def layering_violations(root: Path = ROOT) -> list[str]:
    problems = []
    for package, banned in FORBIDDEN.items():
        for path in source_files(package, root):
            for line, target in imported_modules(path, root):
                if target.split(".")[0] in banned:
                    problems.append(f"{path.relative_to(root)}:{line} imports {target} ({package}/ must not import {target.split('.')[0]})")
    for path in source_files("engine", root):
        source = engine_layer(module_name(path, root))
        if source is None:
            continue
        for line, target in imported_modules(path, root):
            layer = engine_layer(target)
            if target.split(".")[0] != "engine":
                continue
            if layer is None:
                problems.append(f"{path.relative_to(root)}:{line} imports {target}, which is in no layer of ENGINE_ORDER")
            elif ENGINE_ORDER.index(layer) > ENGINE_ORDER.index(source):
                problems.append(f"{path.relative_to(root)}:{line} imports {target}: {source} is below {layer}")
    return problems


def printing_calls(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in PRINTING_CALLS:
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute):
            if func.attr in PRINTING_METHODS:
                found.append((node.lineno, ast.unparse(func)))
            elif func.attr in ("write", "writelines") and isinstance(func.value, ast.Attribute) and func.value.attr in STD_STREAMS:
                found.append((node.lineno, ast.unparse(func)))
    return found


def printing_outside_cli(root: Path = ROOT) -> list[str]:
    problems = []
    for path in source_files("engine", root):
        if engine_layer(module_name(path, root)) == "engine.cli":
            continue
        problems += [f"{path.relative_to(root)}:{line} calls {what}" for line, what in printing_calls(path)]
    return problems


def test_every_engine_module_has_a_layer():
    homeless = [module_name(p) for p in source_files("engine") if engine_layer(module_name(p)) is None and module_name(p) != "engine"]
    assert not homeless, f"engine modules outside ENGINE_ORDER (add them to a layer): {homeless}"


def test_no_package_imports_a_higher_one():
    problems = layering_violations()
    assert not problems, "layering broken:\n" + "\n".join(problems)


def test_only_the_cli_prints():
    problems = printing_outside_cli()
    assert not problems, "engine code outside engine/cli prints (log instead, or return the text to the CLI):\n" + "\n".join(problems)


# The checks themselves, on a scratch tree, so that a check that silently finds nothing fails.

def _scratch(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in TOP_PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
    return tmp_path


@pytest.mark.parametrize("files, expected", [
    ({"engine/store/tables.py": "from engine.lifecycle import services\n"}, "engine.store is below engine.lifecycle"),
    ({"engine/store/db.py": "def f():\n    import engine.cli.core\n"}, "engine.store is below engine.cli"),
    ({"engine/lifecycle/services.py": "from engine.bootstrap import Context\n"}, "engine.lifecycle is below engine.bootstrap"),
    ({"engine/mail/outbox.py": "from ..scheduler import daemon\n"}, "engine.mail is below engine.scheduler"),
    ({"engine/store/x.py": "from engine import lifecycle\n"}, "engine.store is below engine.lifecycle"),
    ({"workflows/spec.py": "from engine.errors import TkksdError\n"}, "workflows/ must not import engine"),
    ({"notifiers/base.py": "import config.settings\n"}, "notifiers/ must not import config"),
    ({"config/settings.py": "from engine.clock import Clock\n"}, "config/ must not import engine"),
    ({"engine/newpart/x.py": "import os\n", "engine/cli/y.py": "from engine.newpart import x\n"}, "in no layer"),
])
def test_a_forbidden_import_is_found(tmp_path, files, expected):
    problems = layering_violations(_scratch(tmp_path, files))
    assert any(expected in p for p in problems), problems


def test_allowed_imports_pass(tmp_path):
    root = _scratch(tmp_path, {
        "engine/cli/core.py": "from engine.bootstrap import bootstrap\nfrom engine.store import db\n",
        "engine/lifecycle/services.py": "from engine.context import Context\nfrom . import machine\nfrom notifiers import base\n",
        "engine/store/db.py": "from engine.errors import DatabaseNotReady\nfrom .tables import agreements\n",
    })
    assert layering_violations(root) == []


@pytest.mark.parametrize("code", [
    "print('x')\n", "import click\nclick.echo('x')\n", "import click\nclick.secho('x')\n",
    "import sys\nsys.stdout.write('x')\n", "import sys\nsys.stderr.write('x')\n",
])
def test_printing_is_found(tmp_path, code):
    root = _scratch(tmp_path, {"engine/scheduler/daemon.py": code, "engine/cli/core.py": code})
    problems = printing_outside_cli(root)
    assert len(problems) == 1 and problems[0].startswith("engine/scheduler/daemon.py:"), problems
