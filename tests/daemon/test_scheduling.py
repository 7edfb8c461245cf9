"""The daemon's scheduler with stand-in jobs: the drain is not starved by long sweeps."""

from __future__ import annotations

import threading

from config.settings import load
from engine.scheduler.scheduling import Jobs, build_scheduler


def test_the_drain_runs_while_the_sweep_and_the_start_up_digests_sweep_a_backlog(tmp_path):
    # At start the sweep and the catch-up digests (which sweep first) both work through the
    # backlog of due deadlines; mail must go out meanwhile, as the fault test needs.
    settings = load({}, path=_settings(tmp_path))
    backlog_done = threading.Event()
    sweeping: list[str] = []
    drains = threading.Semaphore(0)

    def long_sweep(name: str):
        def run() -> None:
            sweeping.append(name)
            backlog_done.wait(60)

        return run

    scheduler = build_scheduler(settings, Jobs(long_sweep("sweep"), drains.release, long_sweep("digests")))
    scheduler.start()
    try:
        # Three runs, a tick apart: a first one may slip in before both sweeps hold a worker.
        for n in range(3):
            assert drains.acquire(timeout=30), f"the drain ran {n} time(s), then not while {sweeping} were busy"
    finally:
        backlog_done.set()
        scheduler.shutdown(wait=True)


def _settings(tmp_path):
    path = tmp_path / "tkksd.toml"
    path.write_text("[daemon]\nsweep_seconds = 1\ndrain_seconds = 1\n")
    return path
