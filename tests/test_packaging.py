"""tkksd finds its shipped configuration (settings, OPD directory, workflow definitions,
migrations, notice templates) from the editable install and from a wheel in a fresh venv;
the schema revision matches Alembic's head; `tkksd --help` stays light."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["pyproject.toml", "README.md", "engine", "workflows", "notifiers", "config"]
HEAVY = ("sqlalchemy", "apscheduler", "jinja2", "aiosmtplib", "transitions", "psycopg", "openpyxl", "icalendar", "alembic")

# Run inside the installation under test: where every shipped file is found.
WHERE = r"""
import json, sys
from pathlib import Path
import config.settings as cs, engine.store.db as db, notifiers.rendering as nr, workflows
print(json.dumps({
    "settings": str(cs.DEFAULTS_FILE), "opd": str(cs.OPD_FILE),
    "definitions": sorted(str(p) for p in workflows.DEFINITIONS_DIR.glob("*.toml")),
    "migrations": str(db.MIGRATIONS_DIR), "versions": sorted(p.name for p in (db.MIGRATIONS_DIR / "versions").glob("0*.py")),
    "templates": str(nr.PACKAGE_TEMPLATES),
    "transition_template": (nr.PACKAGE_TEMPLATES / "id" / "transition.txt.j2").exists(),
    "editable": [type(f).__name__ for f in sys.meta_path if "editable" in type(f).__name__.lower()]
                + [m for m in sys.modules if "__editable__" in m],
}))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TKKSD_", "PYTHON"))}
    env.update({"TKKSD_HOME": str(tmp_path / "var"), "TKKSD_USER": "admin", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def _use_installation(python: Path, tkksd: Path, tmp_path: Path, prefix: Path) -> None:
    """Init, add and show from a temp cwd; every shipped file must come from under ``prefix``."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = _env(tmp_path)
    where = json.loads(subprocess.run([str(python), "-c", WHERE], cwd=cwd, env=env, capture_output=True, text=True,
                                      check=True, timeout=120).stdout)
    for key in ("settings", "opd", "migrations", "templates"):
        assert Path(where[key]).is_relative_to(prefix), (key, where[key])
        assert Path(where[key]).exists(), key
    assert where["definitions"] and all(Path(p).is_relative_to(prefix) for p in where["definitions"])
    assert where["versions"] and where["transition_template"]

    def run(*args):
        return subprocess.run([str(tkksd), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)

    init = run("init")
    assert init.returncode == 0, init.stderr
    assert "65 ditambahkan" in init.stdout  # the OPD directory, in Indonesian (the default)
    added = run("add", "--title", "KB Uji Paket", "--partner", "Otorita IKN", "--opd", "DKP", "--json")
    assert added.returncode == 0, added.stderr
    ref = json.loads(added.stdout)["id"]
    shown = run("show", ref, "--json")
    assert shown.returncode == 0, shown.stderr
    a = json.loads(shown.stdout)
    assert (a["state"], a["state_label"], a["workflow"]) == ("proposed", "Usulan", "kerja-sama")
    # The creation notice renders from the shipped templates (the outbox records a snapshot;
    # `outbox list` renders a row the drain has not rendered yet, as the drain would).
    with sqlite3.connect(tmp_path / "var" / "tkksd.db") as conn:
        assert [r[0] for r in conn.execute("SELECT count(*) FROM outbox WHERE snapshot IS NOT NULL")] == [1]
    listed = run("outbox", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    subjects = [r["subject"] for r in json.loads(listed.stdout)]
    assert subjects and all(subjects)
    return where


def test_editable_install_finds_its_configuration(tmp_path):
    bindir = Path(sys.executable).parent
    _use_installation(Path(sys.executable), bindir / "tkksd", tmp_path, ROOT)


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_finds_its_configuration(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SHIPPED:  # build from a copy: an in-tree build would leave build/ and *.egg-info behind
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:  # no index to fetch setuptools from: build with this venv's own
        build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
                               capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    [wheel] = dist.glob("tkksd-*.whl")

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    install = subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    # The dependencies, without the source tree: the project venv's site-packages as a plain
    # path. A path line in a .pth does not process that directory's own .pth files, so the
    # editable finder installed there stays inactive (checked below).
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = _use_installation(python, fresh / "bin" / "tkksd", tmp_path, fresh)
    assert where["editable"] == []
    assert not str(ROOT) in where["settings"]


def test_schema_revision_is_alembic_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from engine.store.db import MIGRATIONS_DIR, SCHEMA_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [SCHEMA_REVISION]


def _imported_by(args: list[str]) -> list[str]:
    """Top-level heavy modules loaded by running ``tkksd <args>`` under -X importtime."""
    exe = Path(sys.executable).with_name("tkksd")
    cmd = [sys.executable, "-X", "importtime", str(exe), *args] if exe.exists() else \
        [sys.executable, "-X", "importtime", "-m", "engine.cli", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=_env(Path("/nonexistent")))
    assert result.returncode == 0, result.stderr[-500:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def test_help_imports_nothing_heavy():
    assert _imported_by(["--help"]) == []


def test_help_of_every_command_imports_nothing_heavy():
    """Loading every command module and running `--help` of each command (and of each
    subcommand of a group) loads none of the heavy libraries: they are imported inside the
    functions that use them."""
    script = r"""
import json, sys, click
from engine.cli import COMMANDS, cli, main
ctx = click.Context(cli)
paths = []
for name in sorted(COMMANDS):
    paths.append([name])
    cmd = cli.get_command(ctx, name)
    if isinstance(cmd, click.Group):
        paths += [[name, sub] for sub in cmd.list_commands(ctx)]
for path in paths:
    try:
        main([*path, "--help"])
    except SystemExit:
        pass
# Loading every command module (above, to list subcommands) and running each --help:
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps({"paths": len(paths), "heavy": heavy}))
"""
    result = subprocess.run([sys.executable, "-c", script, ",".join(HEAVY)], capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-800:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    examples = result.stdout.count("Contoh:") + result.stdout.count("Example:")
    assert examples >= report["paths"] > 10  # every help really ran
