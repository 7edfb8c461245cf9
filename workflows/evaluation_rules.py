"""Rule kind ``scorecard``: an evaluation's outcome agrees with its scores, or says why not.

The scorecard is data in the definition (``[settings.scorecard]``: criteria with the field
holding each score and note, weights, the score range, and bands from a weighted score to the
outcomes it supports). A rule on an evaluation event names the outcome the event stands for:

    { rule = "scorecard", outcome = "continue", required = false, when_from = ["under_evaluation"],
      reason = "departure_reason", recommendation = "evaluation_recommendation", findings = "evaluation_findings" }

* ``when_from``: the rule applies only when the agreement is in one of these states (``upgrade``
  from ``integrated`` is not an evaluation; from ``under_evaluation`` it is);
* ``required``: the event needs a full scorecard supplied with it (scores are never carried over
  from an earlier evaluation); without ``required`` a scorecard is checked when one is given;
* the outcome must be one the band of the weighted score supports, and a recommendation given
  with the event must match the outcome, unless ``reason`` is supplied with the event.

Rule kind ``reassessed``: what an evaluation must look at again before it closes (issue 15: the
IKN relevance and alignment), either supplied with the closing event or recorded by an event
fired during this evaluation:

    { rule = "reassessed", when_from = ["under_evaluation"], keys = ["ikn_relevance", "ikn_reassessment"],
      event = "ikn_reassess" }
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .guards import Problem
from .rule_kinds import kind

# What a recommendation stands for when compared with the event that closes an evaluation.
_RECOMMENDATION_OUTCOMES = {
    "continue": {"continue", "extend"},
    "upgrade": {"upgrade"},
    "revise": {"revise"},
    "terminate": {"terminate"},
    "extend": {"extend", "continue"},
    "end": {"terminate", "revoke"},
}


@dataclass(frozen=True)
class Score:
    weighted: float
    band: Mapping[str, Any]
    scores: dict[str, int]

    @property
    def recommends(self) -> str:
        return str(self.band.get("recommends", ""))


def card_of(view, rule) -> Mapping[str, Any] | None:
    card = view.limit(rule.params.get("scorecard", "scorecard"))
    return card if isinstance(card, Mapping) else None


def score(card: Mapping[str, Any], values: Mapping[str, Any]) -> Score | None:
    """The weighted score and its band, or None when a criterion has no score."""
    scores: dict[str, int] = {}
    for c in card.get("criteria", []):
        value = values.get(c["field"])
        if value is None or value == "":
            return None
        scores[c["key"]] = value
    total_weight = sum(float(c.get("weight", 1)) for c in card["criteria"])
    weighted = sum(float(c.get("weight", 1)) * float(scores[c["key"]]) for c in card["criteria"]) / total_weight
    bands = sorted(card.get("bands", []), key=lambda b: -float(b["min"]))
    band = next((b for b in bands if weighted >= float(b["min"]) - 1e-9), bands[-1] if bands else {})
    return Score(round(weighted, 2), band, scores)


def _label(item: Mapping[str, Any], lang: str = "en") -> str:
    label = item.get("label")
    if isinstance(label, Mapping):
        return str(label.get(lang) or label.get("id") or item.get("key"))
    return str(label or item.get("key") or item.get("recommends", ""))


def _score_problems(card: Mapping[str, Any], supplied: Mapping[str, Any]) -> list[str]:
    lo, hi = int(card.get("min_score", 1)), int(card.get("max_score", 4))
    note_at = card.get("note_required_at_or_below")
    out = []
    for c in card.get("criteria", []):
        value = supplied.get(c["field"])
        if value is None:
            continue
        if not isinstance(value, (int, float)) or int(value) != value or not lo <= value <= hi:
            out.append(f"{c['field']} must be a whole score from {lo} to {hi}, not {value}")
        elif note_at is not None and value <= note_at and c.get("note") and not supplied.get(c["note"]):
            out.append(f"a score of {int(value)} for {_label(c)} needs a note in {c['note']}")
    return out


def _check_scorecard(defn, rule, view, values, stored, supplied) -> Problem | None:
    p = rule.params
    when_from = p.get("when_from")
    if when_from and getattr(view, "state", None) not in when_from:
        return None
    card = card_of(view, rule)
    if card is None:
        return Problem(None, f"the scorecard '{p.get('scorecard', 'scorecard')}' is not configured")
    fields = [c["field"] for c in card.get("criteria", [])]
    given = [f for f in fields if supplied.get(f) is not None]
    findings = p.get("findings")
    # Missing items read after "missing " in the refusal.
    if p.get("required") and findings and not supplied.get(findings):
        label = defn.field(findings).label.en if defn.has_field(findings) else "findings"
        return Problem(findings, f"{findings} ({label}, with '{p['outcome']}' from an evaluation)", missing=True)
    if not given:
        if p.get("required"):
            return Problem(fields[0] if fields else None,
                           f"the scorecard, as '{p['outcome']}' closes an evaluation: {', '.join(fields)} "
                           f"(each {card.get('min_score', 1)}-{card.get('max_score', 4)})", missing=True)
        return _check_recommendation(p, supplied)
    absent = [f for f in fields if f not in given]
    if absent:
        return Problem(absent[0], f"{', '.join(absent)} (the scorecard is incomplete)", missing=True)
    bad = _score_problems(card, supplied)
    if bad:
        return Problem(None, "; ".join(bad))
    result = score(card, supplied)
    reason = p.get("reason")
    if p["outcome"] not in result.band.get("outcomes", []) and not (reason and supplied.get(reason)):
        hint = f"; record the reason for departing from it in {reason}" if reason else ""
        return Problem(reason, f"the scorecard gives {result.weighted:.2f} of {card.get('max_score', 4)} "
                               f"({_label(result.band)}), which recommends {result.recommends}, not '{p['outcome']}'{hint}")
    return _check_recommendation(p, supplied)


def _check_recommendation(p: Mapping[str, Any], supplied: Mapping[str, Any]) -> Problem | None:
    field, reason = p.get("recommendation"), p.get("reason")
    recommended = supplied.get(field) if field else None
    if recommended is None or p["outcome"] in _RECOMMENDATION_OUTCOMES.get(recommended, {recommended}):
        return None
    if reason and supplied.get(reason):
        return None
    hint = f"; record the reason for departing from it in {reason}" if reason else ""
    return Problem(reason, f"the recommendation '{recommended}' does not agree with '{p['outcome']}'{hint}")


def _validate_scorecard(defn, rule) -> str | None:
    if not isinstance(rule.params.get("outcome"), str):
        return "needs 'outcome' (the outcome the event stands for)"
    card = defn.settings.get(rule.params.get("scorecard", "scorecard"))
    if not isinstance(card, Mapping) or not card.get("criteria") or not card.get("bands"):
        return "needs [settings.scorecard] with criteria and bands in the definition"
    for c in card["criteria"]:
        if not isinstance(c, Mapping) or not defn.has_field(str(c.get("field"))):
            return f"criterion {c!r} names no declared score field"
        if c.get("note") and not defn.has_field(c["note"]):
            return f"criterion '{c.get('key')}' names unknown note field '{c['note']}'"
    return None


kind("scorecard", field_params=("reason", "recommendation", "findings"), validate=_validate_scorecard)(_check_scorecard)


def _check_reassessed(defn, rule, view, values, stored, supplied) -> Problem | None:
    p = rule.params
    if p.get("when_from") and getattr(view, "state", None) not in p["when_from"]:
        return None
    absent = [k for k in p["keys"] if supplied.get(k) in (None, "")]
    if not absent:
        return None
    event = p.get("event")
    # Recorded earlier in this evaluation (the state's entry moment bounds "this evaluation").
    if event and view.count_events_since_entered(event) > 0:
        return None
    named = ", ".join(f"{k} ({defn.field(k).label.en})" for k in absent)
    how = f"with this event or first with '{event}'" if event else "with this event"
    # Missing items read after "missing " in the refusal.
    return Problem(absent[0], f"{named}, assessed again at every evaluation, {how}", missing=True)


def _validate_reassessed(defn, rule) -> str | None:
    keys = rule.params.get("keys")
    if not isinstance(keys, list) or not keys:
        return "needs 'keys' (the fields assessed again)"
    event = rule.params.get("event")
    if event is not None and not defn.has_event(str(event)):
        return f"names unknown event '{event}'"
    return None


kind("reassessed", field_params=("keys",), validate=_validate_reassessed)(_check_reassessed)
