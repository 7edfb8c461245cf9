"""Shell completion and "did you mean" for commands, through the real `tkksd` entry point."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import tkksd_executable


def complete(cli, words: str) -> list[str]:
    """What bash's completion function would offer for the command line ``words``."""
    env = dict(cli.env, COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
               _TKKSD_COMPLETE="bash_complete")
    proc = subprocess.run(tkksd_executable(), env=env, cwd=cli.cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bash_completes_ids_events_and_opd_codes(cli):
    first = cli("add", "--title", "KB Pangan", "--partner", "Otorita IKN", "--opd", "DKP", "--json").json()["id"]
    cli("add", "--title", "KB Air", "--partner", "PDAM", "--opd", "DKP")
    ids = complete(cli, "tkksd show KS")
    assert first in ids and len(ids) == 2
    assert complete(cli, f"tkksd fire {first} ") == ["identify", "reject", "withdraw"]
    assert complete(cli, f"tkksd fire {first} w") == ["withdraw"]
    assert "DISHUB" in complete(cli, "tkksd list --opd DIS")
    assert complete(cli, "tkksd his") == ["history"]


def test_completion_script_is_printed_for_each_shell(cli):
    for shell, marker in (("bash", "complete -o nosort -F"), ("zsh", "#compdef tkksd"), ("fish", "complete --no-files --command tkksd")):
        out = cli("completion", shell).stdout
        assert marker in out, shell


def test_completion_without_a_database_completes_nothing_quietly(tmp_path):
    env = {"TKKSD_DATABASE_URL": f"sqlite:///{tmp_path}/none/tkksd.db", "TKKSD_HOME": str(tmp_path / "none"),
           "COMP_WORDS": "tkksd show KS", "COMP_CWORD": "2", "_TKKSD_COMPLETE": "bash_complete", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(tkksd_executable(), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr == ""
    assert not (tmp_path / "none" / "tkksd.db").exists()  # completing reads; it never creates a database


def test_a_misspelled_command_gets_a_suggestion_and_exit_2(cli):
    result = cli("shwo", "KS-2026-0001", check=False)
    assert result.returncode == 2
    assert "Perintah 'shwo' tidak ada (maksud Anda 'show'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_filter_values_are_refused_naming_the_valid_ones(cli):
    state = cli("list", "--state", "integrate", check=False)
    assert state.returncode == 2
    assert "Status 'integrate' tidak dikenal (maksud Anda 'integrated'" in state.stderr and "yang sah: awaiting_dprd" in state.stderr
    opd = cli("list", "--opd", "NOPE", check=False)
    assert opd.returncode == 2 and "Kode OPD 'NOPE' tidak dikenal" in opd.stderr and "tkksd opd list" in opd.stderr
    wf = cli("export", "x.csv", "--workflow", "kerja-sma", check=False)
    assert wf.returncode == 2 and "(maksud Anda 'kerja-sama'" in wf.stderr
    assert not (cli.cwd / "x.csv").exists()
    assert cli("list", "--state", "integrated", "--opd", "dkp").returncode == 0
