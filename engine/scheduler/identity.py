"""The daemon's identity as recorded with every timed event it fires: the actor stays `system`
(no person can take that name, see engine.lifecycle.access), and the note names the host and the process,
so a timed event in the history can be traced to the daemon that fired it."""

from __future__ import annotations

import os
import socket


def daemon_signature(daemon_id: str | None = None) -> str:
    host = socket.gethostname() or "localhost"
    name = f"{daemon_id} " if daemon_id and daemon_id != host else ""
    return f"daemon {name}on {host} pid {os.getpid()}"
