"""Outputs that cannot destroy (issue 17.1): every written file goes through a temporary file
and a rename; the database, its companions, the Maildir and the configuration are refused
whatever the name."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from engine.store.outputs import OutputRefused, atomic_output


def _db_file(env) -> Path:
    return Path(env["TKKSD_DATABASE_URL"].split("///", 1)[1])


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("about the SQLite file")


def test_report_cannot_overwrite_the_live_database(sqlite_only, cli, env, tmp_path):
    db_file = _db_file(env)
    before = db_file.read_bytes()[:100]
    for args in (["report", "--output", str(db_file)], ["report", "--format", "html", "--output", str(db_file)],
                 ["report", "--output", str(db_file) + "-wal"], ["export", str(db_file) + "-shm"]):
        r = cli(*args, check=False)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and "tak terduga" not in r.stderr
    assert "berkas milik tkksd sendiri" in cli("report", "--output", str(db_file), check=False).stderr
    assert db_file.read_bytes()[:100] == before
    cli("list")  # the database still works


def test_a_link_to_the_database_is_the_database(sqlite_only, cli, env, tmp_path):
    db_file = _db_file(env)
    (tmp_path / "harmless.html").symlink_to(db_file)
    os.link(db_file, tmp_path / "copy.txt")
    for name in ("harmless.html", "copy.txt"):
        r = cli("report", "--output", str(tmp_path / name), check=False)
        assert r.returncode == 2 and "berkas milik tkksd sendiri" in r.stderr, r.stderr
    cli("list")


def test_maildir_and_configuration_are_refused(cli, env, tmp_path):
    maildir = Path(env["TKKSD_HOME"]) / "mail"
    (maildir / "new").mkdir(parents=True)
    r = cli("calendar", "--output", str(maildir / "new" / "x.ics"), check=False)
    assert r.returncode == 2 and "Maildir" in r.stderr
    conf = tmp_path / "tkksd.toml"
    conf.write_text("[general]\n")
    r = cli("report", "--output", str(conf), check=False)
    assert r.returncode == 2 and conf.read_text() == "[general]\n"


def test_missing_folder_device_and_folder_targets_are_sentences(cli, tmp_path):
    for args, words in ((["export", str(tmp_path / "nodir" / "x.csv")], f"Folder {tmp_path / 'nodir'} tidak ada"),
                        (["report", "--output", str(tmp_path / "nodir" / "r.html")], f"Folder {tmp_path / 'nodir'} tidak ada"),
                        (["calendar", "--output", str(tmp_path / "nodir" / "c.ics")], f"Folder {tmp_path / 'nodir'} tidak ada"),
                        (["graph", "--output", str(tmp_path / "nodir" / "g.mmd")], f"Folder {tmp_path / 'nodir'} tidak ada"),
                        (["report", "--output", str(tmp_path)], "folder"),
                        (["report", "--output", "/dev/full"], "bukan berkas biasa")):
        r = cli(*args, check=False)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "tak terduga" not in r.stderr
    assert Path("/dev/full").exists() and not Path("/dev/full").is_file()


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(ctx, tmp_path):
    target = tmp_path / "r.html"
    target.write_text("old")
    with pytest.raises(OutputRefused, match="No space left"):
        with atomic_output(ctx.settings, target) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".r.html")) == []


def test_a_full_disk_leaves_no_partial_file(ctx, tmp_path, monkeypatch):
    from engine.inventory import calendars

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    target = tmp_path / "c.ics"
    with pytest.raises(OutputRefused):
        with atomic_output(ctx.settings, target) as tmp:
            calendars.write(ctx, tmp)
    assert list(tmp_path.glob("*c.ics*")) == []


def test_a_refused_suffix_names_the_users_file(ctx, tmp_path):
    from engine.errors import InvalidInput
    from engine.inventory.exporting import export_file

    with pytest.raises(InvalidInput, match=r"'x\.txt'"):
        with atomic_output(ctx.settings, tmp_path / "x.txt") as tmp:
            export_file(ctx, tmp)
    assert list(tmp_path.glob("*x.txt*")) == []


def test_a_nul_character_in_an_output_folder_is_a_sentence(cli, tmp_path):
    """Found by the fuzz test's strategy: a NUL in a path reached "unexpected ValueError"."""
    out = cli("calendar", "--per-opd", "a\x00b", check=False)
    assert out.returncode == 2 and "NUL" in out.stderr and "unexpected" not in out.stderr.lower()
    assert out.stderr.count("\n") == 1
