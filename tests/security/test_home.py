"""A home that does not depend on the folder (issue 12.5): ./var only in a tkksd deployment or
the source checkout, else the user's data folder or TKKSD_HOME; never the system's /var/mail;
read-only commands create no file; init, status and the daemon say where the data is."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine.store.home import MARKER, default_home, is_deployment_folder
from tests.conftest import ROOT, tkksd_executable


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TKKSD_", "XDG_"))}
    env.update({"HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1", **extra})
    return env


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*tkksd_executable(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("start", ["root", "empty"])
def test_from_the_root_or_an_empty_folder_the_data_goes_to_the_users_data_folder(tmp_path, start):
    user_home = tmp_path / "home" / "sari"
    user_home.mkdir(parents=True)
    cwd = Path("/") if start == "root" else tmp_path / "empty"
    cwd.mkdir(exist_ok=True)
    env = bare_env(user_home)
    expected = user_home / ".local" / "share" / "tkksd"

    before = files_under(tmp_path)
    read = run(cwd, env, "list")
    assert read.returncode == 7 and f"Berkas {expected / 'tkksd.db'} belum ada" in read.stderr
    assert files_under(tmp_path) == before  # a read-only command created nothing
    assert not Path("/var/tkksd.db").exists()

    init = run(cwd, env, "init")
    assert init.returncode == 0, init.stderr
    assert f"Basis data: {expected / 'tkksd.db'}; surel: di Maildir {expected / 'mail'}." in init.stdout
    assert (expected / "tkksd.db").stat().st_mode & 0o777 == 0o600
    assert expected.stat().st_mode & 0o777 == 0o700
    if start == "empty":
        assert files_under(cwd) == []
    status = run(cwd, env, "status")
    assert status.returncode == 0 and f"Basis data: {expected / 'tkksd.db'}" in status.stdout
    print(f"from {cwd}: {init.stdout.splitlines()[1]}")


def test_a_deployment_folder_keeps_its_var(tmp_path):
    user_home = tmp_path / "home"
    user_home.mkdir()
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "tkksd.toml").write_text("[general]\nregion = \"Kukar\"\n")
    env = bare_env(user_home)
    init = run(deploy, env, "init")
    assert init.returncode == 0, init.stderr
    assert f"Basis data: {deploy / 'var' / 'tkksd.db'}; surel: di Maildir {deploy / 'var' / 'mail'}." in init.stdout
    assert (deploy / "var" / MARKER).is_file()
    # Once init made var/ (with its marker), the folder stays a deployment without tkksd.toml.
    (deploy / "tkksd.toml").unlink()
    assert is_deployment_folder(deploy) and default_home(deploy) == deploy / "var"
    daemon = run(deploy, env, "daemon", "--once")
    assert daemon.returncode == 0, daemon.stderr
    # The daemon's first lines: where the database and the mail are.
    block = daemon.stderr.splitlines()[:3]
    assert block[1].endswith(f": {deploy / 'var' / 'tkksd.db'} (SQLite)") and block[2].endswith(f": Maildir {deploy / 'var' / 'mail'}")


def test_the_source_checkout_is_a_deployment_folder_and_the_root_never_is(tmp_path):
    assert is_deployment_folder(ROOT)
    assert default_home(ROOT) == ROOT / "var"
    assert not is_deployment_folder(Path("/"))
    other = tmp_path / "proj"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    assert not is_deployment_folder(other)
    (other / "var").mkdir()  # a var/ that tkksd did not make is not tkksd's
    assert not is_deployment_folder(other)


def test_the_system_mail_spool_is_refused(tmp_path):
    env = bare_env(tmp_path, TKKSD_HOME="/var")
    r = run(tmp_path, env, "init")
    assert r.returncode == 9 and "spool surel sistem" in r.stderr
    assert not Path("/var/tkksd.db").exists()


def test_init_refuses_a_database_folder_that_does_not_exist(tmp_path):
    env = bare_env(tmp_path, TKKSD_DATABASE_URL=f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")
    r = run(tmp_path, env, "init")
    assert r.returncode == 9 and f"Folder basis data {tmp_path / 'no' / 'such'} tidak ada" in r.stderr
    assert not (tmp_path / "no").exists()
