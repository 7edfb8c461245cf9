"""Mail transport throughput: stdlib smtplib (one connection per message) vs SmtpTransport.

An aiosmtpd sink runs in its own process on 127.0.0.1; both clients send the same N rendered
notices to it in the same run, and both build each message's bytes with ``wire_bytes`` (what
SmtpTransport sends) inside the timed loop, so the difference is the transport alone
(connection reuse, concurrency, and the cost of each SMTP command).

    .venv/bin/python bench/bench_mail_transport.py [--messages 1000] [--concurrency 10]

Prints one summary line; exits non-zero if a message was not accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import smtplib
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LOCAL_HOSTNAME = "tkksd.localdomain"
WARM_UP = 20


def _serve(port: int, ready, stop, counted) -> None:
    # Runs in the child process: a sink that accepts every message.
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope) -> str:
            Sink.count += 1
            return "250 2.0.0 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port, server_hostname="sink.bench", ready_timeout=10.0)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    counted.value = Sink.count


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _messages(n: int, tag: str):
    from datetime import datetime, timezone

    from notifiers.base import Message
    from notifiers.rendering import Renderer

    from tests.notifiers.samples import context  # the same sample notice the tests render

    rendered = Renderer().render("reminder", context("reminder", "id"))
    stamp = datetime.now(timezone.utc).strftime("%H%M%S")
    return [
        Message(
            message_id=f"<bench-{tag}-{stamp}-{i}.tkksd@kukarkab.go.id>",
            sender="TKKSD Kukar <tkksd@kukarkab.go.id>",
            to=("Kepala Dinas Pertanian dan Peternakan <distanak@kukarkab.go.id>",),
            cc=("kerjasama@kukarkab.go.id",),
            subject=f"{rendered.subject} #{i}",
            text=rendered.text,
            html=rendered.html,
            headers=(("X-TKKSD-Key", f"bench:{tag}:{i}"),),
        )
        for i in range(n)
    ]


def bench_smtplib(port: int, messages) -> tuple[float, int]:
    from notifiers.wire import wire_bytes

    sent = 0
    started = time.perf_counter()
    for msg in messages:
        payload = wire_bytes(msg)
        with smtplib.SMTP("127.0.0.1", port, local_hostname=LOCAL_HOSTNAME, timeout=30) as client:
            refused = client.sendmail(msg.envelope_sender, list(msg.recipients), payload)
            sent += not refused
    return time.perf_counter() - started, sent


def bench_transport(port: int, messages, concurrency: int) -> tuple[float, int]:
    from notifiers.smtp import SmtpTransport

    transport = SmtpTransport("127.0.0.1", port, security="none", concurrency=concurrency, local_hostname=LOCAL_HOSTNAME)

    async def run():
        try:
            return await transport.deliver(messages)
        finally:
            await transport.aclose()

    started = time.perf_counter()
    outcomes = asyncio.run(run())
    elapsed = time.perf_counter() - started
    return elapsed, sum(o.status == "sent" and not o.refused for o in outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    ready, stop, counted = ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    port = _free_port()
    server = ctx.Process(target=_serve, args=(port, ready, stop, counted), daemon=True)
    server.start()
    try:
        if not ready.wait(20):
            print("mail transport: the aiosmtpd sink did not start", file=sys.stderr)
            return 2
        baseline_msgs, transport_msgs = _messages(args.messages, "smtplib"), _messages(args.messages, "transport")
        # Warm both paths first (imports, first connections, caches), untimed.
        warm_base, warm_pool = _messages(WARM_UP, "warm-smtplib"), _messages(WARM_UP, "warm-transport")
        bench_smtplib(port, warm_base)
        bench_transport(port, warm_pool, args.concurrency)
        base_time, base_sent = bench_smtplib(port, baseline_msgs)
        pool_time, pool_sent = bench_transport(port, transport_msgs, args.concurrency)
    finally:
        stop.set()
        server.join(20)

    base_rate, pool_rate = base_sent / base_time, pool_sent / pool_time
    ratio = pool_rate / base_rate
    print(
        f"mail transport: smtplib one-connection {base_rate:.0f} msg/s, "
        f"SmtpTransport {pool_rate:.0f} msg/s, ratio {ratio:.2f}x (goal >= 2.5x)"
    )
    expected = 2 * args.messages
    if base_sent + pool_sent != expected or counted.value != expected + 2 * WARM_UP:
        print(f"mail transport: only {base_sent + pool_sent} of {expected} accepted (sink counted {counted.value})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
