"""Helpers for issue 16's tests: scorecards, a clock at fixed instants, the OPD urusan loaded."""

from __future__ import annotations

import pytest

from tests.daemon.conftest import ctx_at  # noqa: F401 - re-exported for the tests here

CRITERIA = ("realisation", "benefit", "partner", "budget", "plan_fit", "ikn", "sustainability")
# What every evaluation that keeps an agreement running records again (issue 15, workflow version 2).
REASSESSED = {"ikn_relevance": "direct", "ikn_reassessment": "Masih relevan dan selaras dengan kebutuhan IKN"}


def scorecard(score: int, **overrides: int) -> dict[str, str]:
    """Every criterion scored ``score`` (notes where a low score needs one), some overridden."""
    out: dict[str, str] = {}
    for c in CRITERIA:
        s = overrides.get(c, score)
        out[f"score_{c}"] = str(s)
        if s <= 2:
            out[f"score_{c}_note"] = f"Catatan {c}: capaian rendah"
    return out


@pytest.fixture
def urusan(ctx):
    """The shipped OPD urusan list loaded, as `tkksd init` does."""
    from engine.store import db
    from engine.store.urusan import load_urusan

    with db.write(ctx.engine) as conn:
        load_urusan(conn, ctx)
    return ctx
