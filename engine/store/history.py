"""The append-only, hash-chained history of every agreement, and its verification.

Each row's hash covers the previous row's hash and every column that matters, and the
agreement keeps the hash and seq of its newest row: an edited, deleted or reordered row,
and a deleted tail, all break the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from engine.i18n import _

GENESIS = "0" * 64


def row_hash(prev_hash: str, agreement_id: int, seq: int, event: str, from_state: str | None, to_state: str,
             actor: str, at: datetime, note: str | None, data: Mapping[str, Any], kind: str) -> str:
    payload = json.dumps(
        [prev_hash, agreement_id, seq, event, from_state, to_state, actor, at.isoformat(), note, data, kind],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    agreement: str
    row_id: int | None
    seq: int | None
    problem: str

    def sentence(self) -> str:
        if self.row_id is not None:
            return _("{agreement}: history row id {row} (seq {seq}) {problem}").format(
                agreement=self.agreement, row=self.row_id, seq=self.seq, problem=self.problem)
        return _("{agreement}: its history {problem}").format(agreement=self.agreement, problem=self.problem)


def verify_chain(agreement: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
    """The first break in one agreement's chain, or None. ``rows`` come ordered by seq."""
    prev = GENESIS
    expected_seq = 1
    last_to = None
    number = agreement["number"]
    for r in rows:
        if r["seq"] != expected_seq:
            problem = _("has seq {seq} where {expected} was expected (a row was deleted or reordered)").format(
                seq=r["seq"], expected=expected_seq)
            return ChainBreak(number, r["id"], r["seq"], problem)
        if r["prev_hash"] != prev:
            return ChainBreak(number, r["id"], r["seq"], _("does not link to the row before it (edited or reordered)"))
        computed = row_hash(prev, r["agreement_id"], r["seq"], r["event"], r["from_state"], r["to_state"],
                            r["actor"], r["at"], r["note"], r["data"], r["kind"])
        if computed != r["hash"]:
            return ChainBreak(number, r["id"], r["seq"], _("does not match its hash (it was edited)"))
        prev = r["hash"]
        last_to = r["to_state"]
        expected_seq += 1
    if expected_seq - 1 != agreement["history_seq"]:
        return ChainBreak(number, None, None, _("ends at seq {seq} but the agreement records seq {recorded} (rows were deleted)")
                          .format(seq=expected_seq - 1, recorded=agreement["history_seq"]))
    if prev != agreement["history_head"]:
        # Same length, different newest hash: the last row was rewritten (hash recomputed).
        return ChainBreak(number, None, None, _("ends with a row (seq {seq}) whose hash differs from the one the agreement records "
                                                "(the last row was rewritten)").format(seq=expected_seq - 1))
    if last_to != agreement["lifecycle_state"]:
        return ChainBreak(number, None, None, _("ends in state '{last}' but the agreement is in '{state}'").format(
            last=last_to, state=agreement["lifecycle_state"]))
    return None
