"""Every failure a sentence and a contract exit code (issue 17.5), fuzzed.

Hypothesis builds command lines for every command and subcommand from click's own description
of their parameters (options with good, bad and hostile values; paths that are the database,
the Maildir, a missing folder, a device; undecodable bytes; impostor logins) and runs them: most
in-process through ``engine.cli.main`` (fast), a sample as real subprocesses. Each run must
exit with a code of the contract, print no traceback and nothing "unexpected", and a refusal
must change nothing: neither the database nor the files of the working folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import re
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import COMMANDS, cli as root_group
from engine.lifecycle.services import add_user, create_agreement
from engine.store import db
from tests.conftest import Cli

CONTRACT = {0, 2, 3, 4, 5, 6, 7, 8, 9, 10}
# `doctor` exits 1 when it finds a problem and `daemon --once` when a deadline failed: reports,
# not failures of the command.
MAY_EXIT_1 = {"doctor", "daemon"}
IN_PROCESS_RUNS = int(os.environ.get("TKKSD_FUZZ_RUNS", "300"))
SUBPROCESS_RUNS = 40
COUNTS: dict[str, int] = {}


def commands() -> list[tuple[list[str], click.Command]]:
    """(path of names, command) for every leaf command of the CLI."""
    out = []
    ctx = click.Context(root_group)
    for name in sorted(COMMANDS):
        cmd = root_group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            for sub in sorted(cmd.commands):
                out.append(([name, sub], cmd.commands[sub]))
        else:
            out.append(([name], cmd))
    return out


def texts(refs: dict[str, str], paths: dict[str, str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([refs["ref"], refs["ref"].lower(), "KS-1999-9999", "1", "0", "-1", "99999999999999999999",
                         "identify", "withdraw", "expire", "DKP", "dkp", "DINAS-ENTAH", "kerja-sama", "pemanfaatan-bmd",
                         "document_kind=KB", "ends_on=2023-02-30", "signed_on=2026-01-15", "=HYPERLINK(\"x\")", "a=",
                         "=b", "", " ", "30d", "2w", "-5", "nan", "2026-13-45", "2027-01-01", "x@y.example",
                         "KS-\udcc3(", "\x00", "é" * 70, "system", "admin", "x" * 5000, "1=2=3", "--", "-",
                         "yes", "tidak", "text", "html", "xlsx", "json", "pending", "sent"]),
        st.sampled_from(sorted(paths.values())),
        st.text(max_size=30),
    )


def options_of(cmd: click.Command, refs, paths) -> st.SearchStrategy[list[str]]:
    parts = []
    for p in cmd.params:
        if isinstance(p, click.Option):
            flag = p.opts[-1] if p.opts[-1].startswith("--") else p.opts[0]
            if p.is_flag:
                parts.append(st.sampled_from([[], [flag]]))
            else:
                value = texts(refs, paths)
                if isinstance(p.type, click.Choice):
                    value = st.one_of(st.sampled_from(list(p.type.choices)), value)
                elif isinstance(p.type, (click.types.IntParamType, click.types.IntRange)):
                    value = st.one_of(st.integers(-10**12, 10**12).map(str), value)
                reps = st.lists(value, max_size=3 if p.multiple else 1)
                parts.append(reps.map(lambda vs, f=flag: [x for v in vs for x in (f, v)]))
        else:
            n = p.nargs if p.nargs > 0 else 2
            parts.append(st.lists(texts(refs, paths), min_size=0 if not p.required else n, max_size=n))
    if not parts:
        return st.just([])
    return st.tuples(*parts).map(lambda groups: [x for g in groups for x in g])


def cases(refs, paths):
    env_changes = st.sampled_from([
        {}, {}, {}, {}, {"TKKSD_USER": "nobody"}, {"TKKSD_USER": "system"}, {"TKKSD_USER": "x" * 300},
        {"TKKSD_USER": "budi"}, {"TKKSD_NOW": "kemarin"}, {"TKKSD_NOW": "2027-06-01T08:00"},
        {"TKKSD_DATABASE_URL": "garbage"}, {"TKKSD_DATABASE_URL": "mysql://u@h/d"}, {"TKKSD_LANGUAGE": "fr"},
        {"TKKSD_TIMEZONE": "Mars/Olympus"}, {"TKKSD_SMTP_PORT": "x"},
    ])
    per_command = [st.tuples(st.just(path), options_of(cmd, refs, paths)) for path, cmd in commands()]
    return st.tuples(st.one_of(per_command), env_changes)


def row_texts(conn, table: str) -> list[str]:
    """Every row of ``table`` as text, every column losslessly. PostgreSQL writes the text itself
    (``t::text``): read into Python, the outbox's JSON snapshots of a database holding the demo
    made a fingerprint cost more than the run it checks."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(f"SELECT t::text FROM {table} t ORDER BY 1").scalars().all()
    return [repr(tuple(row)) for row in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1")]


def fingerprint(ctx, folder: Path) -> str:
    """The database's content and the working folder's files, hashed."""
    h = hashlib.sha256()
    with db.read(ctx.engine) as conn:
        for table in ("agreements", "history", "users", "deadlines", "outbox", "incidents", "opds"):
            for text in row_texts(conn, table):
                h.update(f"{len(text)}:{text}".encode("utf-8", "backslashreplace"))
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "tkksd.db" not in p.name:
            h.update(str(p).encode("utf-8", "backslashreplace") + p.read_bytes())
    return h.hexdigest()


def run_in_process(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    mask = os.umask(0o022)
    os.umask(mask)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        os.umask(mask)
    return code, out.getvalue(), err.getvalue()


def check_run(name: str, code: int, stdout: str, stderr: str, before: str, after: str, argv) -> None:
    shown = [a[:40] for a in argv]
    assert "Traceback" not in stderr and "Traceback" not in stdout, (shown, stderr)
    # report_failure's last resort ("Error: unexpected KeyError: ..."); click's own usage errors
    # ("Got unexpected extra argument") are sentences with exit 2 and are fine.
    assert not re.search(r"(unexpected|tak terduga) [A-Za-z]+(Error|Exception)?:", stderr), (shown, stderr)
    allowed = CONTRACT | ({1} if name in MAY_EXIT_1 else set())
    assert code in allowed, (shown, code, stderr)
    if code != 0 and not (code == 1 and name in MAY_EXIT_1):
        assert stderr.strip(), (shown, code)
        assert before == after, ("a refusal changed something", shown, code, stderr)
    COUNTS["runs"] = COUNTS.get("runs", 0) + 1
    COUNTS[f"exit {code}"] = COUNTS.get(f"exit {code}", 0) + 1


@pytest.fixture
def world(ctx, env, tmp_path):
    add_user(ctx, "admin", "budi", "Budi", ["opd"], "DKP")
    add_user(ctx, "admin", "sari", "Sari", ["secretariat"], None)
    ref = create_agreement(ctx, "admin", title="KB Pangan", partner="Otorita IKN", opd="DKP", values={"document_kind": "KB"})["id"]
    home = Path(env["TKKSD_HOME"])
    (home / "mail" / "new").mkdir(parents=True, exist_ok=True)
    hostile = tmp_path / "hostile.csv"
    hostile.write_text("id,workflow,state,title,partner,lead_opd\n,kerja-sama,proposed," + "x" * 40_000 + ",P,DKP\n")
    db_file = env["TKKSD_DATABASE_URL"].split("///", 1)[1] if env["TKKSD_DATABASE_URL"].startswith("sqlite") else "tkksd.db"
    paths = {
        "db": db_file, "wal": db_file + "-wal", "maildir": str(home / "mail" / "new" / "m.csv"),
        "nodir": str(tmp_path / "nodir" / "x.csv"), "dir": str(tmp_path), "full": "/dev/full",
        "csv": "out.csv", "xlsx": "out.xlsx", "html": "r.html", "ics": "c.ics", "mmd": "g.mmd", "txt": "x.txt",
        "hostile": str(hostile), "missing": "missing.xlsx",
    }
    return {"ref": ref}, paths


@pytest.mark.slow
def test_fuzzed_command_lines_in_process(ctx, env, tmp_path, world):
    refs, paths = world
    COUNTS.clear()

    @settings(max_examples=IN_PROCESS_RUNS, deadline=None, database=None, derandomize=not os.environ.get("TKKSD_FUZZ_RANDOM"),
              suppress_health_check=list(HealthCheck))
    @given(cases(refs, paths))
    def run(case):
        (names, args), changes = case
        argv = [*names, *args]
        if names == ["daemon"] and "--once" not in argv:
            argv.append("--once")  # the daemon proper runs until stopped
        before = fingerprint(ctx, tmp_path)
        code, out, err = run_in_process(argv, {**env, **changes})
        after = fingerprint(ctx, tmp_path)
        check_run(names[0], code, out, err, before, after, argv)

    run()
    print(f"\nfuzz in-process: {COUNTS}")
    assert COUNTS["runs"] == IN_PROCESS_RUNS
    assert sum(v for k, v in COUNTS.items() if k not in ("runs", "exit 0")) > IN_PROCESS_RUNS // 3  # mostly refusals


def test_fuzzed_command_lines_as_subprocesses(cli, ctx, env, tmp_path, world):
    refs, paths = world
    rng = random.Random(17)
    runs = 0
    bad_bytes = os.fsdecode(b"KS-\xc3(")
    pool = [(names, cmd) for names, cmd in commands()]
    before = fingerprint(ctx, tmp_path)
    for i in range(SUBPROCESS_RUNS):
        names, cmd = pool[i % len(pool)]
        args = []
        for p in cmd.params:
            if isinstance(p, click.Argument):
                args.append(rng.choice([refs["ref"], "KS-1999-9999", bad_bytes, paths["db"], paths["nodir"], "x" * 200]))
        if names == ["daemon"]:
            args.append("--once")
        extra = rng.choice([{}, {"TKKSD_USER": "nobody"}, {"TKKSD_DATABASE_URL": "mysql://u@h/d"}, {}])
        r = cli(*names, *args, check=False, extra_env=extra)
        after = fingerprint(ctx, tmp_path)
        check_run(names[0], r.returncode, r.stdout, r.stderr, before, after, [*names, *args])
        before = after  # nothing but the runs changes anything: this run's "after" is the next one's "before"
        runs += 1
    print(f"\nfuzz subprocesses: {runs} runs")
    assert runs == SUBPROCESS_RUNS
