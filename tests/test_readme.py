"""The README's commands work as printed: the user block and the workflow walk run verbatim in
bash (after the activation step it asks for), on whatever date the test runs and with whatever
id `add` returns."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def sh_block_after(marker: str) -> str:
    """The first ```sh block that follows ``marker`` in the README."""
    text = (ROOT / "README.md").read_text()
    start = text.index(marker)
    match = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert match, f"no sh block after {marker!r}"
    return match.group(1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readme_users_and_walk_run_verbatim(env, tmp_path):
    script = "\n".join([
        "set -euo pipefail",
        sh_block_after("adds the others:"),
        sh_block_after("A walk through the workflow"),
        'echo "ID=$ID"',
    ])
    bin_dir = str(Path(sys.executable).parent)  # where `. .venv/bin/activate` would put tkksd
    run_env = dict(env, PATH=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin")
    proc = subprocess.run(["bash", "-c", script], env=run_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    agreement = re.search(r"^ID=(KS-\d{4}-\d{4})$", proc.stdout, re.M).group(1)
    assert "Riwayat terverifikasi" in proc.stdout
    shown = subprocess.run([str(Path(bin_dir) / "tkksd"), "show", agreement, "--json"], env=run_env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert '"state": "integrated"' in shown.stdout and len(re.findall(r"KS-\d{4}-\d{4}", shown.stdout)) >= 2


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start"):text.index("## Using it")]
    blocks = re.findall(r"```sh\n(.*?)```", quick, re.S)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
    main_job, tests = (b.strip() for b in blocks)
    assert "[test]" not in main_job and main_job.endswith("tkksd daemon")
    assert tests.endswith(".venv/bin/python -m pytest -n 2")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci
