"""A warm parent for the `tkksd` processes the tests run (a fork server).

Starting `tkksd` costs about 0.4 s, nearly all of it Python importing SQLAlchemy, click,
jinja2 and the engine, and the suite runs the CLI a few thousand times. This server imports
those once; for each run it forks, and the child runs the real entry point ``engine.cli.main``
with the test's arguments, environment, working folder and pipes as stdin/stdout/stderr, then
exits with the command's exit code. Each run is still a process of its own (its own pid, exit
status, file descriptors, signals; nothing it does reaches the server or the next run) that
starts with the modules imported but nothing run: every module of the engine reads its
environment when called, not when imported (tests/test_layering.py keeps import time free of
work by keeping the CLI lazy; the packaging tests run the installed `tkksd` script itself).

Protocol, one connection per run: the client sends a 4-byte length and the three descriptors
(stdin, stdout, stderr) with SCM_RIGHTS, then a JSON object ``{"argv", "env", "cwd"}`` of that
length. The server answers ``"<pid>\\n"`` when the command started and ``"<returncode>\\n"``
when it ended (negative: killed by that signal, as ``subprocess`` reports it).

``TKKSD_TEST_CLI=spawn`` makes the ``cli`` fixture start `tkksd` afresh for every run instead.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = struct.Struct("!I")


# ------------------------------------------------------------------------- server


def preload() -> None:
    """Import every module the CLI may need, so that no run pays for it."""
    import engine

    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        if ".migrations.versions." in info.name or info.name.endswith((".migrations.env", ".__main__")):
            continue  # Alembic loads these itself, by file; __main__ would run the CLI
        importlib.import_module(info.name)
    for name in ("psycopg", "sqlalchemy.dialects.postgresql.psycopg", "sqlalchemy.dialects.sqlite.pysqlite", "alembic.command"):
        importlib.import_module(name)


def receive(conn: socket.socket) -> tuple[dict, list[int]]:
    raw, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
    while len(raw) < HEADER.size:
        raw += conn.recv(HEADER.size - len(raw))
    (length,) = HEADER.unpack(raw)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise ConnectionError("the client went away")
        body += chunk
    return json.loads(body), fds


def run_command(request: dict, fds: list[int]) -> None:
    """In the forked child: become the `tkksd` process the test asked for. Never returns."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        # The signal dispositions a fresh `python` starts with (the server changed these).
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        sys.argv = ["tkksd", *request["argv"]]
        from engine.cli import main

        main(request["argv"])
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - show it as Python would, then exit 1
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve_one(conn: socket.socket) -> None:
    """In a forked child of the server: start the command, report its pid and exit code."""
    request, fds = receive(conn)
    pid = os.fork()
    if pid == 0:
        conn.close()
        run_command(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def serve(path: str) -> None:
    preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the per-run children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    parent = os.getppid()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(64)
        server.settimeout(5.0)
        print("ready", flush=True)
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                if os.getppid() != parent:  # the test session is gone (killed): so is the server
                    os._exit(0)
                continue
            conn.settimeout(None)
            if os.fork() == 0:
                server.close()
                try:
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    serve_one(conn)
                finally:
                    os._exit(0)
            conn.close()


# ------------------------------------------------------------------------- client


class ForkServer:
    """Starts the server on first use; ``run`` is ``subprocess.run(capture_output=True, text=True)``."""

    def __init__(self, folder: Path):
        self.path = str(folder / "tkksd-cli.sock")
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.cli_server", self.path], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"the tkksd fork server did not start (said {line!r})")

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        body = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.path)
            try:
                socket.send_fds(conn, [HEADER.pack(len(body))], [null, out_w, err_w])
                conn.sendall(body)
            finally:
                for fd in (null, out_w, err_w):
                    os.close(fd)
            reader = conn.makefile("r")
            pid = int(reader.readline())
            stdout, stderr = read_both(out_r, err_r, pid, timeout, argv)
            returncode = int(reader.readline())
        return subprocess.CompletedProcess(["tkksd", *argv], returncode, stdout, stderr)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
        if os.path.exists(self.path):
            os.unlink(self.path)


def read_both(out_r: int, err_r: int, pid: int, timeout: float, argv: list[str]) -> tuple[str, str]:
    """Both pipes to their end (the command exited); kills the command after ``timeout`` s."""
    import selectors

    chunks = {out_r: [], err_r: []}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                for fd in list(chunks):
                    os.close(fd)
                raise subprocess.TimeoutExpired(["tkksd", *argv], timeout)
            for key, _ in sel.select(left):
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    sel.unregister(key.fd)
    for fd in chunks:
        os.close(fd)
    # As subprocess.run(text=True) reads them: decoded, universal newlines.
    return tuple(b"".join(chunks[fd]).decode().replace("\r\n", "\n").replace("\r", "\n") for fd in (out_r, err_r))


if __name__ == "__main__":
    serve(sys.argv[1])
