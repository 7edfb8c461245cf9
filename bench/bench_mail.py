"""E-mail throughput: the outbox drain vs. stdlib smtplib, one connection per message.

Both send the same 1,000 rendered messages to the same aiosmtpd server, which runs in its own
process (this file, started with ``--serve``). The drain is the real thing, as the daemon
runs it (``drain_all``): claim from the database (SQLite, or TKKSD_BENCH_DATABASE_URL),
deliver through the configured SMTP transport (reused connections, bounded concurrency),
record the outcomes, batch after batch. The baseline only sends: each message is built as
an EmailMessage before its clock starts, and ``send_message`` serialises it while timed.

    .venv/bin/python bench/bench_mail.py            # 1,000 messages
    .venv/bin/python bench/bench_mail.py -n 2000 --concurrency 10

Goal: drain / smtplib >= 2.5. The machines are noisy; compare the ratio, not the rates.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------------- the server process


def serve(port_file: str) -> None:
    import asyncio

    from aiosmtpd.smtp import SMTP

    class Counter:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.count += 1
            return "250 OK"

    async def main():
        loop = asyncio.get_running_loop()
        handler = Counter()
        # hostname given: otherwise every connection does a slow FQDN lookup (performance.md).
        srv = await loop.create_server(lambda: SMTP(handler, hostname="bench.smtp", ident="bench"), "127.0.0.1", 0)
        Path(port_file + ".tmp").write_text(str(srv.sockets[0].getsockname()[1]))
        os.replace(port_file + ".tmp", port_file)
        while True:
            await asyncio.sleep(0.2)
            # Replaced, not rewritten: the reader must never see a half-written file.
            Path(port_file + ".count.tmp").write_text(str(Counter.count))
            os.replace(port_file + ".count.tmp", port_file + ".count")

    asyncio.run(main())


def start_server(tmp: Path) -> tuple[subprocess.Popen, int, Path]:
    port_file = tmp / "port"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
    for _ in range(200):
        if port_file.exists():
            return proc, int(port_file.read_text()), Path(str(port_file) + ".count")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the benchmark SMTP server did not start")


def server_count(count_file: Path) -> int:
    time.sleep(0.5)
    return int(count_file.read_text()) if count_file.exists() else -1


# ------------------------------------------------------------------------- set-up


def prepare(tmp: Path, port: int, concurrency: int, n: int):
    from engine.store import db
    from engine.bootstrap import bootstrap
    from engine.store.directory import sync_directory
    from engine.lifecycle.notices import common_context, message_id_for, renderer
    from engine.store.tables import outbox

    settings = tmp / "bench.toml"
    settings.write_text(
        f'[mail]\ntransport = "smtp"\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f"concurrency = {concurrency}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TKKSD_")}
    env.update({"TKKSD_CONFIG": str(settings), "TKKSD_HOME": str(tmp / "var"),
                "TKKSD_DATABASE_URL": os.environ.get("TKKSD_BENCH_DATABASE_URL", f"sqlite:///{tmp / 'var' / 'bench.db'}")})
    ctx = bootstrap(env, check_schema=False, with_hooks=False)
    db.upgrade(ctx.engine)
    now = ctx.clock.now()
    with db.write(ctx.engine) as conn:
        sync_directory(conn, ctx.settings.opd_file)
        conn.execute(outbox.delete())
        rows = []
        for i in range(n):
            to = f"kepala{i % 65}@opd.kukar.example"
            r = renderer(ctx).render("mail_test", {**common_context(ctx), "recipient": {"name": to, "email": to, "role": ""}})
            key = f"bench:{i}"
            rows.append(dict(dedupe_key=key, kind="mail_test", agreement_id=None, recipient_opd=None, to_addrs=[to],
                             cc_addrs=["kerjasama@opd.kukar.example"], subject=r.subject, text_body=r.text,
                             html_body=r.html, message_id=message_id_for(key, "bench.tkksd.example"), status="pending",
                             attempts=0, next_attempt_at=now, created_at=now))
        conn.execute(outbox.insert(), rows)
    return ctx


# ------------------------------------------------------------------------- the two runs


def run_smtplib(ctx, port: int) -> float:
    import sqlalchemy as sa

    from engine.store import db
    from engine.mail.outbox import message_of
    from engine.store.tables import outbox
    from notifiers.base import build_email

    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
    # Built before the clock starts: the baseline is charged for send_message only (which
    # still serialises each message); the time to build is returned too, for the end-to-end
    # figure.
    start = time.perf_counter()
    emails = [(build_email(message_of(r, ctx.settings)), r) for r in rows]
    built = time.perf_counter() - start
    start = time.perf_counter()
    for email, r in emails:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="tkksd.localdomain") as s:
            s.send_message(email, from_addr="tkksd@opd.kukar.example", to_addrs=list(r.to_addrs) + list(r.cc_addrs))
    return time.perf_counter() - start, built


def run_drain(ctx, batch: int) -> tuple[float, object]:
    from engine.mail.outbox import drain_all

    start = time.perf_counter()
    result = drain_all(ctx, daemon_id="bench", limit=batch)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="messages (default 1000)")
    parser.add_argument("--concurrency", type=int, default=10, help="SMTP connections in parallel (default 10)")
    parser.add_argument("--batch", type=int, default=100, help="rows claimed per drain pass (default 100)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory(prefix="tkksd-bench-mail-") as tmp_name:
        tmp = Path(tmp_name)
        proc, port, count_file = start_server(tmp)
        try:
            ctx = prepare(tmp, port, args.concurrency, args.n)
            base, built = run_smtplib(ctx, port)
            after_base = server_count(count_file)
            drained, result = run_drain(ctx, args.batch)
            after_drain = server_count(count_file)
        finally:
            proc.terminate()
            proc.wait(10)
    n = args.n
    print(f"messages: {n}; server: aiosmtpd in its own process; database: {ctx.engine.url.get_backend_name()}")
    print(f"smtplib, one connection per message: {base:6.2f} s  {n / base:7.0f} msg/s  (server counted {after_base})")
    print(f"outbox drain (claim+send+record), concurrency {args.concurrency}, batch {args.batch}: "
          f"{drained:6.2f} s  {n / drained:7.0f} msg/s  (server counted {after_drain - after_base}; {result.as_dict()})")
    ratio = base / drained
    print(f"ratio drain / smtplib (smtplib charged for send_message only): {ratio:.2f}x  "
          f"(goal >= 2.5x) {'OK' if ratio >= 2.5 else 'BELOW GOAL'}")
    print(f"ratio drain / smtplib incl. building the {n} messages ({built:.2f} s): {(base + built) / drained:.2f}x")


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
