"""Setups that several tests start from, made once per session and backend.

A test marked ``@shared_setup(setup)`` gets a copy of the database and home folder that
``setup`` left (tests/databases.py, ``SharedSetup``); the ``shared_setup_result`` fixture is what
it returned. A setup is a function of a ``Cli`` bound to a copy of the initialised template in a
folder of its own: it must not depend on the test that first needs it.
"""

from __future__ import annotations

import pytest

DEMO_DAY = "2024-05-01T09:00"  # the demo inventory's own date


def shared_setup(setup) -> pytest.MarkDecorator:
    """The mark ``pytest.mark.shared_setup`` with ``setup`` as its argument (``with_args``: a mark
    called with a lone function would decorate that function instead)."""
    return pytest.mark.shared_setup.with_args(setup)


def demo_loaded(cli):
    """`tkksd demo` on the demo inventory's own date (its result is returned)."""
    return cli("demo", now=DEMO_DAY)


def demo_imported(cli) -> None:
    """The demo inventory imported in-process as of its own date, as `tkksd demo` imports it but
    without the potensi register."""
    from engine.bootstrap import bootstrap
    from engine.cli.inventory_cmds import DEMO_FILE
    from engine.inventory.importing import import_file

    ctx = bootstrap(dict(cli.env, TKKSD_NOW=DEMO_DAY))
    try:
        import_file(ctx, DEMO_FILE, "admin", source="config/demo/inventory.csv", note_extra="demo inventory (sample data)")
    finally:
        ctx.engine.dispose()
