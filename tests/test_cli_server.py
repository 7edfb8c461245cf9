"""The tests' fork server runs `tkksd` as the installed script does: same output, same exit
codes, the test's environment and working folder, a process of its own."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cli_server import ForkServer
from tests.conftest import init_database, make_env, tkksd_executable


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = ForkServer(tmp_path_factory.mktemp("fork-server"))
    yield s
    s.close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """About the process, not the database: SQLite only."""
    monkeypatch.chdir(tmp_path)
    e = make_env(tmp_path, f"sqlite:///{tmp_path / 'var' / 'tkksd.db'}")
    init_database(e)
    return e


@pytest.mark.parametrize("args", [
    ["--help"],
    ["show", "KS-2026-0001", "--json"],  # exits 3: not found
    ["fire"],  # exits 2: usage
])
def test_same_output_and_exit_code_as_the_script(server, env, tmp_path, args):
    spawned = subprocess.run([*tkksd_executable(), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    forked = server.run(args, env, tmp_path, timeout=120)
    assert (forked.returncode, forked.stdout, forked.stderr) == (spawned.returncode, spawned.stdout, spawned.stderr)


def test_each_run_is_a_process_with_the_tests_environment_and_folder(server, env, tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    first = server.run(["add", "--title", "KB Uji", "--partner", "Mitra", "--opd", "DKP", "--set", "document_kind=KB", "--json"],
                       env, folder, timeout=120)
    assert first.returncode == 0, first.stderr
    # TKKSD_USER is read from the run's environment, not the server's: an unknown user is refused.
    refused = server.run(["add", "--title", "KB Uji", "--partner", "Mitra", "--opd", "DKP"], dict(env, TKKSD_USER="nobody"),
                         folder, timeout=120)
    assert refused.returncode != 0 and refused.stderr.strip() and "Traceback" not in refused.stderr
    assert server.proc is not None and server.proc.pid != os.getpid()


def test_a_run_over_its_time_is_killed(server, env, tmp_path):
    with pytest.raises(subprocess.TimeoutExpired):
        server.run(["daemon"], env, tmp_path, timeout=3)
    assert server.run(["--version"], env, tmp_path, timeout=60).returncode == 0
