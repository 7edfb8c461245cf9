"""Property-based tests (hypothesis) through the in-process service layer, on both backends:

- random event sequences with random (good and bad) values, by random users, only ever reach
  states the definition allows; a refusal changes nothing; the history replays to the current
  state; `audit verify` passes;
- editing, deleting or reordering any history row makes `audit verify` fail, naming the agreement.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event as record, given, settings
from hypothesis import strategies as st

from engine.store import db

from engine import errors

from engine.lifecycle import services
from engine.bootstrap import bootstrap
from engine.store.tables import history
from tests.helpers import KS_STEPS, PATH_TO, add_service

from .conftest import add_users

NOW = "2027-06-01T08:00"  # a fixed clock: the signing rules must not depend on the day the tests run
TODAY = date(2027, 6, 1)
USERS = ["admin", "admin", "sari", "rina", "sekda", "budi", "joko", "ghost"]
GOOD = {k: v for _, values in KS_STEPS.values() for k, v in values.items()}
GOOD.update({"reason": "alasan", "evaluation_findings": "efektif", "evaluation_recommendation": "continue",
             "adendum_ref": "AD-01/2027", "surat_kuasa_ref": "SK-01", "dprd_approval_ref": "DPRD-01"})
# Beyond the requirements: extend needs a later end date than sign's; agreements of earlier
# examples overlap (same partner, field and lead OPD) unless acknowledged.
GOOD_FOR = {"extend": {"ends_on": "2036-01-15"}, "synchronize": {"overlap_acknowledged": "yes"}}
# Every evaluation that keeps the agreement running assesses its IKN relevance again (issue 15).
for _event in ("continue", "upgrade", "extend", "revise"):
    GOOD_FOR.setdefault(_event, {}).update({"ikn_relevance": "direct", "ikn_reassessment": "tetap relevan"})
# The events that move an agreement on (not out): drawn most often.
FORWARD = {
    "proposed": ["identify"], "identified": ["verify"], "verified": ["synchronize"], "synchronized": ["sign"],
    "signed": ["integrate"], "integrated": ["open_evaluation", "upgrade", "extend"],
    "under_evaluation": ["continue", "revise", "upgrade", "extend"],
}
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fixed(env):
    """A context on ``env``'s database with the clock fixed and the users of every role."""
    c = bootstrap({**env, "TKKSD_NOW": NOW})
    add_users(c)
    yield c
    c.engine.dispose()


def value_strategy(f):
    """A value for field ``f``: mostly a good one, sometimes a malformed or out-of-range one."""
    good = GOOD.get(f.key)
    if f.type == "date":
        some = st.dates(date(2020, 1, 1), date(2035, 12, 31)).map(date.isoformat)
        bad = st.sampled_from(["2027-02-30", "01/06/2027", ""])
        return st.one_of(st.just(good) if good else some, some, bad)
    if f.type == "bool":
        return st.one_of(st.just(good or "yes"), st.sampled_from(["yes", "no", "true", "false", "maybe"]))
    if f.type == "choice":
        return st.one_of(st.just(good or f.choices[0]), st.sampled_from([*f.choices, "bogus"]))
    if f.type == "opd":
        return st.sampled_from(["DKP", "DKP", "DISHUB", "XYZ"])
    return st.one_of(st.just(good or "teks"), st.sampled_from(["teks", "  ", "REF-1"]))


def transitions_of(defn) -> set[tuple[str, str, str]]:
    return {(s, e.name, e.dest) for e in defn.events for s in e.sources}


def replay(defn, rows) -> str:
    """Fold the history into a state, checking every step against the definition."""
    allowed = transitions_of(defn)
    assert (rows[0]["event"], rows[0]["from"], rows[0]["to"]) == ("create", None, defn.initial)
    state = rows[0]["to"]
    for r in rows[1:]:
        assert r["from"] == state
        assert (r["from"], r["event"], r["to"]) in allowed
        state = r["to"]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    return state


@PROPERTY_SETTINGS
@given(data=st.data())
def test_random_event_sequences_stay_within_the_definition(fixed, data):
    ctx = fixed
    defn = ctx.registry.latest("kerja-sama")
    allowed = transitions_of(defn)
    kind = data.draw(st.sampled_from(["KB", "MoU", "PKS"]), label="document_kind")
    ref = add_service(ctx, document_kind=kind, partner=data.draw(st.sampled_from(["Otorita IKN", "Kota Bontang"])))
    for _ in range(data.draw(st.integers(6, 20), label="steps")):
        before = services.show(ctx, ref)
        possible = [e.name for e in defn.events_from(before["state"])]
        forward = FORWARD.get(before["state"], [])
        pick = data.draw(st.integers(0, 9))
        if pick < 7 and forward:  # mostly onward, so that sequences get deep into the workflow
            event = data.draw(st.sampled_from(forward), label="event")
        elif pick < 9 and possible:
            event = data.draw(st.sampled_from(possible), label="event")
        else:
            event = data.draw(st.sampled_from([*(e.name for e in defn.events), "approve"]), label="event")
        fields = [defn.field(r.key) for r in defn.event(event).requires] if defn.has_event(event) else []
        if data.draw(st.integers(0, 9), label="mode") < 7:  # a careful coordinator: good values, as admin
            values = {f.key: GOOD.get(f.key, "teks") for f in fields if f.key not in defn.core_fields}
            values.update(GOOD_FOR.get(event, {}))
            actor, note = "admin", None
        else:  # anyone, with anything
            values = {}
            for f in fields:
                if data.draw(st.integers(0, 5)) > 0:  # usually supplied
                    values[f.key] = data.draw(value_strategy(f), label=f.key)
            if data.draw(st.integers(0, 9)) == 0:
                values["colour"] = "red"
            note = data.draw(st.sampled_from([None, "catatan"]))
            actor = data.draw(st.sampled_from(USERS), label="actor")
        rows_before = len(services.history_of(ctx, ref))
        try:
            after = services.fire(ctx, actor, ref, event, values=values, note=note)
        except errors.TkksdError as exc:
            assert "\n" not in str(exc) and str(exc).endswith(".")
            now = services.show(ctx, ref)
            assert (now["state"], now["version"], now["data"]) == (before["state"], before["version"], before["data"])
            assert len(services.history_of(ctx, ref)) == rows_before
            continue
        assert (before["state"], event, after["state"]) in allowed
        assert after["version"] == before["version"] + 1
        last = services.history_of(ctx, ref)[-1]
        assert (last["event"], last["from"], last["to"], last["actor"]) == (event, before["state"], after["state"], actor)
    rows = services.history_of(ctx, ref)
    assert replay(defn, rows) == services.show(ctx, ref)["state"]
    record(f"reached {rows[-1]['to']} after {len(rows) - 1} transition(s)")
    for child in services.show(ctx, ref)["children"]:
        assert replay(defn, services.history_of(ctx, child)) == "proposed"
    n_agreements, n_rows, problems = services.audit_verify(ctx)
    assert problems == []


COLUMNS = ["event", "from_state", "to_state", "actor", "at", "note", "data", "kind", "prev_hash", "hash"]


def _changed(column: str, value):
    if column == "at":
        return value + timedelta(seconds=1)
    if column == "data":
        return {**(value or {}), "tampered": True}
    if column in ("prev_hash", "hash"):
        return ("f" if value[0] != "f" else "e") * 64
    return (value or "") + "x"


@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_tampered_history_row_fails_the_audit(fixed, data):
    ctx = fixed
    ref = add_service(ctx)
    steps = data.draw(st.integers(0, 5), label="steps")
    for event in PATH_TO["integrated"][:steps]:
        services.fire(ctx, "admin", ref, event, values=KS_STEPS[event][1])
    with db.read(ctx.engine) as conn:
        agreement_id = services.find_agreement(conn, ref).id
        rows = conn.execute(sa.select(history).where(history.c.agreement_id == agreement_id).order_by(history.c.seq)).all()
    assert services.audit_verify(ctx)[2] == [p for p in services.audit_verify(ctx)[2] if not p.startswith(f"{ref}:")]
    ways = ["edit", "delete"] + (["reorder"] if len(rows) > 1 else [])
    way = data.draw(st.sampled_from(ways), label="way")
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    target = rows[i]
    named_row = None
    with db.write(ctx.engine) as conn:
        if way == "edit":
            column = data.draw(st.sampled_from(COLUMNS), label="column")
            conn.execute(history.update().where(history.c.id == target.id).values({column: _changed(column, target._mapping[column])}))
            if column not in ("prev_hash", "hash"):
                named_row = f"baris riwayat id {target.id} (urutan {target.seq})"  # the default language
        elif way == "delete":
            conn.execute(history.delete().where(history.c.id == target.id))
        else:
            j = data.draw(st.integers(0, len(rows) - 1).filter(lambda j: j != i), label="other row")
            other = rows[j]
            conn.execute(history.update().where(history.c.id == target.id).values(seq=-1))
            conn.execute(history.update().where(history.c.id == other.id).values(seq=target.seq))
            conn.execute(history.update().where(history.c.id == target.id).values(seq=other.seq))
    problems = [p for p in services.audit_verify(ctx)[2] if p.startswith(f"{ref}:")]
    assert len(problems) == 1, (way, problems)
    if named_row:
        assert named_row in problems[0]
