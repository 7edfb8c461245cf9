"""The outbox drain: claim due rows, deliver them, record what happened.

One pass (``drain_once``) has three steps, so no database transaction stays open while mail
is on the wire:

1. **Claim** (a short write transaction): pending rows whose ``next_attempt_at`` has come and
   whose lease is free or expired get ``claimed_by``/``claimed_until``. PostgreSQL selects them
   ``FOR UPDATE SKIP LOCKED``, so several daemons share the work without waiting on each
   other; on SQLite the ``BEGIN IMMEDIATE`` write transaction serialises claims.
2. **Deliver** through the transport (SMTP with reused connections and bounded concurrency,
   or the Maildir), outside any transaction. From the claim until the record the batch's
   lease is renewed every third of the lease, while its messages are built (in a worker
   thread: attachments can take longer than the lease) and while they are sent; rows whose
   lease was lost before sending are left to the drain that holds them now.
3. **Record** (a short write transaction): sent, retry later, or failed, per row.

``drain_all`` (the daemon's drain job) runs passes back to back in one event loop: the
transaction that records a batch also claims the next one, and the SMTP connections stay
open from batch to batch. Still at most one batch is leased and unrecorded at any moment.

A daemon killed between 2 and 3 leaves its rows claimed; when the lease runs out another pass
claims and sends them again. That is at-least-once delivery: the duplicates carry the same
Message-ID, so they are recognisable. Nothing is deleted on failure: a failed row stays with
its error, and an incident row (plus, unless the failed mail was itself an incident notice,
an incident e-mail to the secretariat) makes it visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store import db
from engine.store.tables import agreements, incidents, outbox

log = logging.getLogger("tkksd.outbox")

STATUSES = ("pending", "sent", "failed", "held")


@dataclass(frozen=True)
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    claimed: int = 0

    def __add__(self, other: "DrainResult") -> "DrainResult":
        return DrainResult(self.sent + other.sent, self.retried + other.retried, self.failed + other.failed,
                           self.claimed + other.claimed)

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed, "claimed": self.claimed}


@dataclass(frozen=True)
class Policy:
    """The retry rules, from [mail] and [daemon]."""

    max_attempts: int
    max_age: timedelta
    backoff_base: float
    backoff_cap: float
    lease: timedelta

    @classmethod
    def from_settings(cls, settings) -> "Policy":
        mail = settings.section("mail")
        return cls(
            max_attempts=max(1, int(mail.get("max_attempts", 8))),
            max_age=timedelta(hours=float(mail.get("max_age_hours", 72))),
            backoff_base=float(mail.get("backoff_base_seconds", 60)),
            backoff_cap=float(mail.get("backoff_cap_seconds", 21600)),
            lease=timedelta(seconds=float(settings.get("daemon", "lease_seconds", 300))),
        )


# ------------------------------------------------------------------------- messages


def sender_of(settings) -> str:
    address = settings.get("mail", "sender", "tkksd@localhost")
    name = settings.get("mail", "sender_name", "")
    return f"{name} <{address}>" if name else address


def message_of(row, settings):
    """The notifiers Message for an outbox row: exactly what the row holds."""
    return messages_of([row], settings)[0]


def messages_of(rows: Sequence[Any], settings, ctx=None) -> list[Any]:
    """``message_of`` for a batch: the settings are read once, not once per row.

    With ``ctx``, deadline notices and digests get their attachments (``ctx.attachments``, wired
    in engine.bootstrap: they are built from the inventory and the agenda, above the mail)."""
    from notifiers.base import Message

    files = ctx.attachments(ctx, rows) if ctx is not None and ctx.attachments is not None else {}
    sender = sender_of(settings)
    reply_to = settings.get("contact", "email") or None
    return [
        Message(
            message_id=row.message_id,
            sender=sender,
            to=tuple(row.to_addrs or ()),
            cc=tuple(row.cc_addrs or ()),
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            headers=(("X-TKKSD-Kind", row.kind),),
            reply_to=reply_to,
            attachments=files.get(row.id, ()),
        )
        for row in rows
    ]


# ------------------------------------------------------------------------- claim


def claim(ctx, *, daemon_id: str, limit: int = 100) -> list[Any]:
    """Lease up to ``limit`` due rows to ``daemon_id``; returns them (committed)."""
    with db.write(ctx.engine) as conn:
        return _claim_in(conn, ctx, daemon_id, limit)


def _claim_in(conn: Connection, ctx, daemon_id: str, limit: int) -> list[Any]:
    now = ctx.clock.now()
    real = ctx.clock.lease_now()  # leases lapse in real time, whatever TKKSD_NOW says
    lease = Policy.from_settings(ctx.settings).lease
    due = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.status == "pending",
            outbox.c.next_attempt_at <= now,
            sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < real),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(due)]
    if not ids:
        return []
    leased = conn.execute(
        outbox.update().where(outbox.c.id.in_(ids)).values(claimed_by=daemon_id, claimed_until=real + lease)
        .returning(*outbox.c)
    ).all()
    return _rendered(conn, ctx, sorted(leased, key=lambda r: r.id))


def _rendered(conn: Connection, ctx, rows: list[Any]) -> list[Any]:
    """Render the claimed rows that hold only their snapshot, and store the text with the
    claim, so what is sent (and retried) stays readable. A row whose template fails cannot
    be built: it fails at once, with an incident."""
    from engine.mail.rendering import needs_rendering, render

    todo = [r for r in rows if needs_rendering(r)]
    if not todo:
        return rows
    texts, broken = [], set()
    for r in todo:
        try:
            t = render(ctx, r.kind, r.snapshot)
        except Exception as exc:  # noqa: BLE001 - a template error fails this message, not the drain
            error = f"The message cannot be built: {type(exc).__name__}: {str(exc).strip() or 'no detail'}"[:500]
            conn.execute(outbox.update().where(outbox.c.id == r.id).values(
                status="failed", last_error=error, claimed_by=None, claimed_until=None))
            raise_incident(conn, ctx, r, error=error, attempts=r.attempts)
            broken.add(r.id)
            continue
        texts.append({"row_id": r.id, "subject": t.subject, "text_body": t.text, "html_body": t.html})
    if texts:
        conn.execute(_store_text(), texts)  # one statement for the batch (executemany)
    ids = [r.id for r in rows if r.id not in broken]
    return conn.execute(sa.select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).all() if ids else []


def _store_text():
    return outbox.update().where(outbox.c.id == sa.bindparam("row_id")).values(
        subject=sa.bindparam("subject"), text_body=sa.bindparam("text_body"), html_body=sa.bindparam("html_body"))


# ------------------------------------------------------------------------- deliver


async def _deliver(transport, messages: Sequence[Any]) -> list[Any]:
    from notifiers.base import Outcome

    try:
        outcomes = await transport.deliver(messages)
    except Exception as exc:  # noqa: BLE001 - a broken transport must not lose the claim's rows
        log.exception("The mail transport failed on a whole batch")
        text = f"The mail transport failed: {type(exc).__name__}: {str(exc).strip() or 'no detail'}."
        return [Outcome(m.message_id, "retry", error=text) for m in messages]
    if len(outcomes) != len(messages):
        text = "The mail transport returned no verdict for this message."
        got = {o.message_id: o for o in outcomes}
        return [got.get(m.message_id) or Outcome(m.message_id, "retry", error=text) for m in messages]
    return outcomes


async def _send_claimed_with(ctx, daemon_id: str, transport, rows: Sequence[Any]) -> list[Any]:
    if transport is not None:
        return await _send_claimed(ctx, daemon_id, transport, rows)
    from engine.mail.transport import make_transport

    own = make_transport(ctx.settings)
    try:
        return await _send_claimed(ctx, daemon_id, own, rows)
    finally:
        await own.aclose()


# A row whose lease was lost before it was sent: the outcome is never recorded (the row is not
# this drain's any more), it only fills the row's place in the batch.
LEASE_LOST = "The lease ran out before the message was sent; another drain holds it now."


async def _send_claimed(ctx, daemon_id: str, transport, rows: Sequence[Any]) -> list[Any]:
    """Build and deliver the claimed ``rows`` under their lease, from the claim on; one outcome
    per row.

    Building runs in a worker thread, not on the event loop: a digest's XLSX list is read from
    the agenda of every agreement and can take longer than the lease, and while it blocked
    the loop nothing renewed the lease, so another drain claimed the whole batch and sent it,
    and then this one sent it too. If building took a renewal interval or more, the lease is
    renewed once more before sending, and only the rows it still holds are sent.
    """
    from notifiers.base import Outcome

    lease = _Lease(ctx, daemon_id, rows)
    outcomes = [Outcome(r.message_id, "retry", error=LEASE_LOST) for r in rows]
    async with _kept(lease):
        messages = await asyncio.to_thread(messages_of, rows, ctx.settings, ctx)
        if lease.due_in() <= 0:
            await lease.renew()
        mine = [i for i, r in enumerate(rows) if r.id in lease.held]
        if len(mine) < len(rows):
            log.warning("Outbox pass by %s: the lease on %d of %d message(s) ran out while they were prepared; "
                        "another drain sends them", daemon_id, len(rows) - len(mine), len(rows))
        if mine:
            for i, outcome in zip(mine, await _deliver(transport, [messages[i] for i in mine])):
                outcomes[i] = outcome
    late = sum(1 for i in mine if rows[i].id not in lease.held)
    if late:
        log.warning("Outbox pass by %s: the lease on %d message(s) ran out while they were sent; "
                    "another drain may send them again", daemon_id, late)
    return outcomes


class _Lease:
    """The lease on the batch a drain has claimed, kept until its outcomes are recorded.

    ``held``: the rows this drain still holds, as far as the last renewal knows.
    """

    def __init__(self, ctx, daemon_id: str, rows: Sequence[Any]):
        self.ctx, self.daemon_id = ctx, daemon_id
        self.length = Policy.from_settings(ctx.settings).lease
        self.held = {r.id for r in rows}
        # The claim set claimed_until = its start + the lease, and rendering took part of that.
        self.renewed_at = min(r.claimed_until for r in rows) - self.length

    @property
    def interval(self) -> float:
        """Seconds between renewals: a third of the lease, so two may fail before it runs out."""
        return max(self.length.total_seconds() / 3, 0.5)

    def due_in(self) -> float:
        return self.interval - (self.ctx.clock.lease_now() - self.renewed_at).total_seconds()

    async def renew(self) -> None:
        started = self.ctx.clock.lease_now()
        kept = await asyncio.to_thread(_extend_lease, self.ctx, self.daemon_id, sorted(self.held), self.length)
        self.held &= kept
        self.renewed_at = started


@contextlib.asynccontextmanager
async def _kept(lease: _Lease):
    """Renew ``lease`` every interval while the block runs. A renewal that fails (the database
    away for a moment) is tried again an interval later; a killed daemon renews nothing, so
    its lease lapses and another drain sends the batch."""
    done = asyncio.Event()

    async def keep() -> None:
        wait = lease.due_in()
        while lease.held:
            if await _set_within(done, wait):
                return
            try:
                await lease.renew()
                wait = lease.due_in()
            except Exception as exc:  # noqa: BLE001 - retried; the lease may run out meanwhile
                log.warning("Outbox lease of %s not renewed: %s", lease.daemon_id, db.first_line(exc))
                wait = lease.interval

    keeper = asyncio.create_task(keep())
    try:
        yield lease
    finally:
        done.set()
        # Awaited, not cancelled: a renewal in its worker thread ends before the batch is recorded.
        await keeper


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), max(seconds, 0.0))
    except TimeoutError:
        return False
    return True


# ------------------------------------------------------------------------- record


def _refusals(outcome) -> list[dict[str, Any]]:
    return [{"recipient": r.recipient, "code": r.code, "text": r.text} for r in outcome.refused]


def _too_old(row, now: datetime, policy: Policy) -> bool:
    start = row.retried_at if getattr(row, "retried_at", None) else row.created_at
    return now - start >= policy.max_age


def incident_dedupe_key(row) -> str:
    # One incident e-mail per failure of a row; a manual retry (retried_at) opens a new cycle.
    cycle = f":{row.retried_at:%Y%m%dT%H%M%S}" if getattr(row, "retried_at", None) else ""
    return f"incident:outbox:{row.id}{cycle}"


def raise_incident(conn: Connection, ctx, row, *, error: str, attempts: int, kind: str = "delivery_failed",
                   recipients: Iterable[str] | None = None) -> None:
    """An incident row, and an incident e-mail to the secretariat unless the failed mail was one."""
    from engine.lifecycle.notices import enqueue, record_incident

    to = list(recipients) if recipients is not None else list(row.to_addrs or ()) + list(row.cc_addrs or ())
    record_incident(
        conn, ctx, kind=kind, agreement_id=row.agreement_id, outbox_id=row.id, opd_code=row.recipient_opd,
        message=f"E-mail {row.message_id} ('{row.kind}') to {', '.join(to)} was not delivered: {error}",
    )
    if row.kind == "incident":
        return  # never an incident about an incident: that could loop on a broken secretariat address
    suffix = ":refused" if kind == "recipient_refused" else ""
    enqueue(
        conn, ctx, kind="incident", agreement_id=row.agreement_id, to=["secretariat"],
        dedupe_key=incident_dedupe_key(row) + suffix,
        context={
            "message": {"message_id": row.message_id, "subject": row.subject, "to": to},
            "error": error,
            "attempts": attempts,
        },
    )


def _retry_rows_for(conn: Connection, ctx, row, recipients: Sequence[str], attempts: int) -> None:
    """Recipients refused with a 4xx while others took the message: a copy for them alone,
    same Message-ID, same age and attempt count, so the retry rules still bound it."""
    conn.execute(
        outbox.insert().values(
            dedupe_key=f"outbox:{row.id}:recipients:{attempts}",
            kind=row.kind, agreement_id=row.agreement_id, recipient_opd=row.recipient_opd,
            to_addrs=list(recipients), cc_addrs=[], subject=row.subject, text_body=row.text_body,
            html_body=row.html_body, snapshot=row.snapshot, message_id=row.message_id, status="pending", attempts=attempts,
            next_attempt_at=ctx.clock.now(), created_at=row.created_at,
            last_error="Refused for now by the server while other recipients took it.",
        )
    )


def record(ctx, *, daemon_id: str, rows: Sequence[Any], outcomes: Sequence[Any], rng=None) -> DrainResult:
    """Write each outcome onto its row (one short write transaction)."""
    with db.write(ctx.engine) as conn:
        return _record_in(conn, ctx, daemon_id, rows, outcomes, rng)


def record_and_claim(ctx, *, daemon_id: str, rows: Sequence[Any], outcomes: Sequence[Any],
                     limit: int) -> tuple[DrainResult, list[Any]]:
    """``record`` this batch and ``claim`` the next one in the same write transaction.

    One commit (one fsync) per pass instead of two, and still never more than one batch in
    flight: the next batch is leased in the same instant this one stops being.
    """
    with db.write(ctx.engine) as conn:
        result = _record_in(conn, ctx, daemon_id, rows, outcomes)
        return result, (_claim_in(conn, ctx, daemon_id, limit) if limit > 0 else [])


def _record_in(conn: Connection, ctx, daemon_id: str, rows: Sequence[Any], outcomes: Sequence[Any],
               rng=None) -> DrainResult:
    from notifiers.base import backoff_seconds

    policy = Policy.from_settings(ctx.settings)
    now = ctx.clock.now()
    sent = retried = failed = 0
    # Only the holder of the lease records: if it ran out and another daemon claimed a row
    # meanwhile, that daemon's record stands (the mail may go twice: at-least-once).
    held = (outbox.c.status == "pending", outbox.c.claimed_by == daemon_id)
    plain = [row.id for row, outcome in zip(rows, outcomes) if outcome.status == "sent" and not outcome.refused]
    if plain:
        # The common case, one statement for the batch. ``attempts + 1`` in SQL equals the
        # claimed row's count plus one: while the lease holds, nobody else writes the row.
        sent += conn.execute(
            outbox.update().where(outbox.c.id.in_(plain), *held).values(
                status="sent", sent_at=now, attempts=outbox.c.attempts + 1, claimed_by=None, claimed_until=None,
                last_error=None, refused=None,
            )
        ).rowcount
    done_ids = set(plain)
    others = [(row, outcome) for row, outcome in zip(rows, outcomes) if row.id not in done_ids]
    if not others:
        return DrainResult(sent=sent, claimed=len(rows))
    owned = sa.select(outbox.c.id).where(outbox.c.id.in_([row.id for row, _ in others]), *held)
    if conn.dialect.name == "postgresql":
        owned = owned.with_for_update()
    still_mine = {r[0] for r in conn.execute(owned)}
    refusal = next((o.error for _, o in others if getattr(o, "login_refused", False)), None)
    if refusal is not None:
        from engine.mail.login_guard import record_refusal

        record_refusal(conn, ctx, refusal)
    for row, outcome in others:
        if row.id not in still_mine:
            continue
        if getattr(outcome, "login_refused", False):
            # The message is fine and was not tried: it waits, its attempts untouched.
            conn.execute(outbox.update().where(outbox.c.id == row.id, *held).values(
                claimed_by=None, claimed_until=None, last_error=outcome.error))
            retried += 1
            continue
        attempts = row.attempts + 1
        mine = sa.and_(outbox.c.id == row.id, *held)
        base = {"attempts": attempts, "claimed_by": None, "claimed_until": None}
        if outcome.status == "sent":
            refused = _refusals(outcome)
            done = conn.execute(
                outbox.update().where(mine).values(
                    **base, status="sent", sent_at=now, refused=refused or None,
                    last_error=None if not refused else f"{len(refused)} recipient(s) refused; see refused.",
                )
            ).rowcount
            if not done:
                continue
            sent += 1
            if outcome.permanently_refused:
                detail = "; ".join(f"{r.recipient}: {r.code} {r.text}" for r in outcome.refused if r.permanent)
                raise_incident(conn, ctx, row, error=f"the server refused some recipients for good ({detail}).",
                               attempts=attempts, kind="recipient_refused", recipients=outcome.permanently_refused)
            if outcome.temporarily_refused:
                _retry_rows_for(conn, ctx, row, outcome.temporarily_refused, attempts)
            continue
        error = outcome.error or "Not delivered."
        give_up = outcome.status == "failed" or attempts >= policy.max_attempts or _too_old(row, now, policy)
        if give_up:
            why = error if outcome.status == "failed" else (
                f"{error} (gave up after {attempts} attempt(s) over "
                f"{_hours(now - (getattr(row, 'retried_at', None) or row.created_at))})"
            )
            done = conn.execute(
                outbox.update().where(mine).values(**base, status="failed", last_error=why,
                                                   refused=_refusals(outcome) or None)
            ).rowcount
            if done:
                failed += 1
                raise_incident(conn, ctx, row, error=why, attempts=attempts)
            continue
        delay = backoff_seconds(attempts, policy.backoff_base, policy.backoff_cap, **({"rng": rng} if rng else {}))
        # Full jitter may draw almost nothing; a floor of one second keeps a dead server
        # from being hammered within one drain interval.
        delay = max(1.0, delay)
        done = conn.execute(
            outbox.update().where(mine).values(**base, last_error=error, next_attempt_at=now + timedelta(seconds=delay))
        ).rowcount
        retried += 1 if done else 0
    return DrainResult(sent=sent, retried=retried, failed=failed, claimed=len(rows))


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{int(delta.total_seconds())} s"


# ------------------------------------------------------------------------- the pass


def drain_once(ctx, *, daemon_id: str, limit: int = 100, transport=None) -> DrainResult:
    """Claim up to ``limit`` due messages, deliver them, record the outcomes.

    ``transport``: a notifiers transport to use (kept open for the caller), or None to build
    the configured one for this pass. Safe to call from several processes at once.
    """
    rows = claim(ctx, daemon_id=daemon_id, limit=limit)
    if not rows:
        return DrainResult()
    outcomes = asyncio.run(_send_claimed_with(ctx, daemon_id, transport, rows))
    result = record(ctx, daemon_id=daemon_id, rows=rows, outcomes=outcomes)
    log.info("Outbox pass by %s: %s", daemon_id, result.as_dict())
    return result


def drain_all(ctx, *, daemon_id: str, limit: int = 100, transport=None, max_passes: int = 1000,
              while_full: bool = False, stop=None) -> DrainResult:
    """Passes until nothing is due (the daemon's drain job, `tkksd outbox drain`-like callers,
    tests and benches).

    ``while_full``: stop after a pass that claimed fewer than ``limit`` rows; what became due
    meanwhile waits for the next run. ``stop``: a threading.Event checked before each claim.
    All passes run in one event loop, over connections kept open from one pass to the next
    (``SmtpTransport.session``), and each pass records its batch and claims the next in one
    transaction (``record_and_claim``): never more than one batch in flight, as with
    ``drain_once`` in a loop.
    """
    return asyncio.run(_drain_passes(ctx, daemon_id, limit, transport, max_passes, while_full, stop))


async def _drain_passes(ctx, daemon_id, limit, transport, max_passes, while_full, stop) -> DrainResult:
    from engine.mail.transport import make_transport

    def go_on(passes: int, claimed: int) -> bool:
        if stop is not None and stop.is_set():
            return False
        return passes < max_passes and not (while_full and claimed < limit)

    if transport is None and await asyncio.to_thread(_login_blocked, ctx):
        return DrainResult()
    own = make_transport(ctx.settings) if transport is None else None
    use = own or transport
    total = DrainResult()
    try:
        async with _session(use):
            rows = await asyncio.to_thread(claim, ctx, daemon_id=daemon_id, limit=limit) if go_on(0, limit) else []
            passes = 1
            while rows:
                outcomes = await _send_claimed(ctx, daemon_id, use, rows)
                following = limit if go_on(passes, len(rows)) else 0
                result, rows = await asyncio.to_thread(
                    record_and_claim, ctx, daemon_id=daemon_id, rows=rows, outcomes=outcomes, limit=following
                )
                log.info("Outbox pass by %s: %s", daemon_id, result.as_dict())
                total = total + result
                passes += 1
                if getattr(use, "login_refused", None) is not None:
                    if rows:  # claimed for a next pass that will not come: free them now
                        await asyncio.to_thread(_release, ctx, daemon_id, [r.id for r in rows])
                    break
    finally:
        if own is not None:
            await own.aclose()
    return total


def _login_blocked(ctx) -> bool:
    """Whether an open incident forbids logging in to the SMTP server with these settings."""
    from engine.mail.login_guard import blocking_incident
    from engine.mail.transport import transport_kind

    if transport_kind(ctx.settings) != "smtp" or not ctx.settings.get("smtp", "username"):
        return False
    with db.read(ctx.engine) as conn:
        blocked = blocking_incident(conn, ctx.settings)
    if blocked:
        log.warning("Outbox not drained: %s", blocked)
    return blocked is not None


def _extend_lease(ctx, daemon_id: str, ids: list[int], lease: timedelta) -> set[int]:
    """Renew the lease on those of ``ids`` this drain still holds; returns them."""
    with db.write(ctx.engine) as conn:
        return {r[0] for r in conn.execute(
            outbox.update().where(outbox.c.id.in_(ids), outbox.c.claimed_by == daemon_id, outbox.c.status == "pending")
            .values(claimed_until=ctx.clock.lease_now() + lease).returning(outbox.c.id))}


def _release(ctx, daemon_id: str, ids: list[int]) -> None:
    with db.write(ctx.engine) as conn:
        conn.execute(outbox.update().where(outbox.c.id.in_(ids), outbox.c.claimed_by == daemon_id)
                     .values(claimed_by=None, claimed_until=None))


def _session(transport):
    # Only the SMTP transport has connections worth keeping; the others need nothing.
    session = getattr(transport, "session", None)
    return session() if session is not None else contextlib.nullcontext()


# ------------------------------------------------------------------------- reading and operator actions


def _text(ctx, row):
    """The row's mail text (rendered from its snapshot if the drain has not yet)."""
    from engine.mail.rendering import Text, text_of

    try:
        return text_of(ctx, row)
    except Exception as exc:  # noqa: BLE001 - showing a broken row must not fail the command
        why = f"(cannot be rendered: {type(exc).__name__}: {str(exc).strip()})"
        return Text(why, why, why)


def _row_dict(row, number: str | None = None, full: bool = False, ctx=None) -> dict[str, Any]:
    text = _text(ctx, row) if ctx is not None else None
    out = {
        "id": row.id,
        "status": row.status,
        "kind": row.kind,
        "agreement": number,
        "to": list(row.to_addrs or ()),
        "cc": list(row.cc_addrs or ()),
        "subject": text.subject if text else row.subject,
        "message_id": row.message_id,
        "attempts": row.attempts,
        "created_at": row.created_at.isoformat(),
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == "pending" else None,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "last_error": row.last_error,
        "refused": row.refused or [],
    }
    if full:
        out.update({
            "dedupe_key": row.dedupe_key,
            "recipient_opd": row.recipient_opd,
            "claimed_by": row.claimed_by,
            "claimed_until": row.claimed_until.isoformat() if row.claimed_until else None,
            "retried_at": row.retried_at.isoformat() if getattr(row, "retried_at", None) else None,
            "text_body": text.text if text else row.text_body,
            "html_body": text.html if text else row.html_body,
        })
    return out


def _select_with_number():
    return sa.select(outbox, agreements.c.number).select_from(
        outbox.outerjoin(agreements, agreements.c.id == outbox.c.agreement_id)
    )


def list_rows(ctx, *, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    from engine.errors import InvalidInput

    q = _select_with_number().order_by(outbox.c.id.desc()).limit(limit)
    if status and status != "all":
        if status not in STATUSES:
            raise InvalidInput(f"Unknown outbox status '{status}'; use one of {', '.join(STATUSES)} or all.")
        q = q.where(outbox.c.status == status)
    with db.read(ctx.engine) as conn:
        return [_row_dict(r, r.number, ctx=ctx) for r in conn.execute(q)]


def counts(ctx) -> dict[str, int]:
    with db.read(ctx.engine) as conn:
        rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all()
    return {status: n for status, n in rows}


def _find(conn: Connection, outbox_id: int):
    from engine.errors import NotFound

    row = conn.execute(_select_with_number().where(outbox.c.id == outbox_id)).first()
    if row is None:
        raise NotFound(f"There is no outbox message {outbox_id}.")
    return row


def show_row(ctx, outbox_id: int) -> dict[str, Any]:
    with db.read(ctx.engine) as conn:
        row = _find(conn, outbox_id)
        found = conn.execute(
            sa.select(incidents).where(incidents.c.outbox_id == outbox_id).order_by(incidents.c.id)
        ).all()
    out = _row_dict(row, row.number, full=True, ctx=ctx)
    out["incidents"] = [
        {"id": i.id, "kind": i.kind, "message": i.message, "created_at": i.created_at.isoformat(),
         "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None}
        for i in found
    ]
    return out


def _require_operator(conn: Connection, login: str, what: str) -> None:
    from engine.errors import PermissionDenied
    from engine.lifecycle.services import resolve_actor

    who = resolve_actor(conn, login)
    if not (who.holds("secretariat") or who.holds("admin")):
        raise PermissionDenied(f"Only the secretariat or an admin may {what}; '{login}' is neither.")


def retry(ctx, actor_login: str, outbox_id: int) -> dict[str, Any]:
    """Make a failed (or waiting) message due now with a fresh attempt budget; resolves its
    open incidents. A sent message is refused: sending it again would be a duplicate."""
    from engine.errors import InvalidInput

    now = ctx.clock.now()
    with db.write(ctx.engine) as conn:
        _require_operator(conn, actor_login, "retry outbox messages")
        row = _find(conn, outbox_id)
        if row.status == "sent":
            raise InvalidInput(f"Outbox message {outbox_id} was already sent at {row.sent_at:%Y-%m-%d %H:%M} UTC; nothing was changed.")
        conn.execute(
            outbox.update().where(outbox.c.id == outbox_id).values(
                status="pending", attempts=0, next_attempt_at=now, retried_at=now, claimed_by=None, claimed_until=None,
            )
        )
        conn.execute(
            incidents.update()
            .where(incidents.c.outbox_id == outbox_id, incidents.c.resolved_at.is_(None))
            .values(resolved_at=now)
        )
        from engine.mail.login_guard import lift

        lift(conn, now)  # an operator's retry also lets the drain log in again
    return {"id": outbox_id, "previous_status": row.status, "status": "pending"}


def purge(ctx, actor_login: str, *, sent_before: datetime, dry_run: bool = False) -> int:
    """Delete messages that were sent before ``sent_before``; pending and failed ones stay."""
    with db.write(ctx.engine) as conn:
        _require_operator(conn, actor_login, "purge the outbox")
        old = sa.select(outbox.c.id).where(outbox.c.status == "sent", outbox.c.sent_at < sent_before)
        ids = [r[0] for r in conn.execute(old)]
        if dry_run or not ids:
            return len(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            # Incidents outlive the message they were about; their text names its Message-ID.
            conn.execute(incidents.update().where(incidents.c.outbox_id.in_(chunk)).values(outbox_id=None))
            conn.execute(outbox.delete().where(outbox.c.id.in_(chunk)))
    return len(ids)
