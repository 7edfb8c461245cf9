"""When the IKN relevance and alignment of an agreement were last assessed: ``ikn_assessed_on``.

Every workflow asks the IKN relevance (and a written assessment of the relevance and the
alignment) when an agreement is identified and again at every evaluation (the rule
``reassessed``). The hook below derives the date of the newest assessment in the transaction
that records it, so reports and letters read one value instead of searching the history; the
history row of that transaction keeps what was assessed.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from engine.i18n import _
from engine.errors import InvalidInput

FIELD = "ikn_assessed_on"
ASSESSED = ("ikn_relevance", "ikn_reassessment")
MANUAL_KINDS = ("human", "create")  # a person's values; imports and migrations carry stored ones


def applies_to(defn) -> bool:
    """Only workflows that record the date of the last IKN assessment."""
    return defn.has_field(FIELD)


def after_transition(conn: Connection, t, ctx) -> None:
    """Hook run inside every transition's transaction, before the deadlines are planned."""
    if t.kind not in MANUAL_KINDS or not t.definition.has_field(FIELD):
        return
    if FIELD in t.supplied:
        raise InvalidInput(_("'{field}' is the date the IKN relevance was last assessed; it is set when ikn_relevance "
                             "or ikn_reassessment is recorded.").format(field=FIELD))
    if not any(t.supplied.get(k) not in (None, "") for k in ASSESSED):
        return
    from engine.lifecycle import kernel  # the one writer of agreements

    t.values[FIELD] = ctx.clock.today()
    kernel.rewrite_data(conn, t)
