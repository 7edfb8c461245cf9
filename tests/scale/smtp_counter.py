"""A stand-alone aiosmtpd server for the fault test, in its own process so that it can be
stopped and started again: ``python smtp_counter.py PORT FILE`` appends the Message-ID of
every message it receives to FILE (one line each, flushed before the 250 reply) until SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

from aiosmtpd.smtp import SMTP

_MID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class Counter:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        m = _MID.search(data.split(b"\r\n\r\n", 1)[0])
        self.out.write((m.group(1).decode() if m else "<none>") + "\n")
        self.out.flush()
        return "250 Message accepted for delivery"


async def main(port: int, path: str) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    with open(path, "a", encoding="utf-8") as out:
        handler = Counter(out)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="smtp.fault.test", ident="tkksd-fault-smtpd"), "127.0.0.1", port,
            reuse_address=True)
        print("ready", flush=True)
        await stop
        server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
