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
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does
from typing import Any

from . import wording
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


def _label(item: Mapping[str, Any]) -> str:
    """A criterion's or a band's label in the reader's language."""
    label = item.get("label")
    if isinstance(label, Mapping):
        return wording.label(label) or str(item.get("key"))
    return str(label or item.get("key") or item.get("recommends", ""))


def _score_problems(defn, card: Mapping[str, Any], supplied: Mapping[str, Any]) -> list[str]:
    lo, hi = int(card.get("min_score", 1)), int(card.get("max_score", 4))
    note_at = card.get("note_required_at_or_below")
    out = []
    for c in card.get("criteria", []):
        value = supplied.get(c["field"])
        if value is None:
            continue
        if not isinstance(value, (int, float)) or int(value) != value or not lo <= value <= hi:
            out.append(_("{field} must be a whole score from {low} to {high}, not {value}").format(
                field=wording.field(defn, c["field"]), low=lo, high=hi, value=wording.value(value)))
        elif note_at is not None and value <= note_at and c.get("note") and not supplied.get(c["note"]):
            out.append(_("a score of {score} for {criterion} needs a note in {field}").format(
                score=int(value), criterion=_label(c), field=wording.field(defn, c["note"])))
    return out


def _check_scorecard(defn, rule, view, values, stored, supplied) -> Problem | None:
    p = rule.params
    when_from = p.get("when_from")
    if when_from and getattr(view, "state", None) not in when_from:
        return None
    card = card_of(view, rule)
    if card is None:
        return Problem(None, _("the scorecard '{name}' is not configured").format(name=p.get("scorecard", "scorecard")))
    fields = [c["field"] for c in card.get("criteria", [])]
    given = [f for f in fields if supplied.get(f) is not None]
    findings = p.get("findings")
    # Missing items read after "missing " in the refusal.
    if p.get("required") and findings and not supplied.get(findings):
        return Problem(findings, _("{field}, with {event} from an evaluation").format(
            field=wording.field(defn, findings), event=wording.event(defn, p["outcome"])), missing=True)
    if not given:
        if p.get("required"):
            message = _("the scorecard, as {event} closes an evaluation: {fields} (each {low}-{high})").format(
                event=wording.event(defn, p["outcome"]), fields=wording.fields(defn, fields), low=card.get("min_score", 1),
                high=card.get("max_score", 4))
            return Problem(fields[0] if fields else None, message, missing=True)
        return _check_recommendation(defn, p, view, supplied)
    absent = [f for f in fields if f not in given]
    if absent:
        return Problem(absent[0], _("{fields}, as the scorecard is incomplete").format(fields=wording.fields(defn, absent)),
                       missing=True)
    bad = _score_problems(defn, card, supplied)
    if bad:
        return Problem(None, "; ".join(bad))
    result = score(card, supplied)
    reason = p.get("reason")
    if p["outcome"] not in result.band.get("outcomes", []) and not (reason and supplied.get(reason)):
        message = _("the scorecard gives {score} of {maximum} ({band}), which recommends {recommends}, not {event}").format(
            score=wording.number(result.weighted, 2), maximum=wording.number(card.get("max_score", 4)), band=_label(result.band),
            recommends=_outcome(defn, view, result.recommends), event=wording.event(defn, p["outcome"]))
        return Problem(reason, message + _departure_hint(defn, reason))
    return _check_recommendation(defn, p, view, supplied)


def _outcome(defn, view, name: str) -> str:
    """An outcome a score or a recommendation stands for, as people know it: the event that
    takes it (``Akhiri (terminate)``), else its label among the evaluation outcomes."""
    return wording.event(defn, name) if defn.has_event(name) else wording.choice(view, "outcome", name)


def _departure_hint(defn, reason: str | None) -> str:
    """Where to record why an evaluation departs from its score (a clause of its own), if anywhere."""
    if not reason:
        return ""
    return "; " + _("record the reason for departing from it in {field}").format(field=wording.field(defn, reason))


def _check_recommendation(defn, p: Mapping[str, Any], view, supplied: Mapping[str, Any]) -> Problem | None:
    field, reason = p.get("recommendation"), p.get("reason")
    recommended = supplied.get(field) if field else None
    if recommended is None or p["outcome"] in _RECOMMENDATION_OUTCOMES.get(recommended, {recommended}):
        return None
    if reason and supplied.get(reason):
        return None
    message = _("the recommendation {recommendation} does not agree with {event}").format(
        recommendation=_outcome(defn, view, recommended), event=wording.event(defn, p["outcome"]))
    return Problem(reason, message + _departure_hint(defn, reason))


def _validate_scorecard(defn, rule) -> str | None:
    if not isinstance(rule.params.get("outcome"), str):
        return _("needs 'outcome' (the outcome the event stands for)")
    card = defn.settings.get(rule.params.get("scorecard", "scorecard"))
    if not isinstance(card, Mapping) or not card.get("criteria") or not card.get("bands"):
        return _("needs [settings.scorecard] with criteria and bands in the definition")
    for c in card["criteria"]:
        if not isinstance(c, Mapping) or not defn.has_field(str(c.get("field"))):
            return _("criterion {criterion} names no declared score field").format(criterion=repr(c))
        if c.get("note") and not defn.has_field(c["note"]):
            return _("criterion '{criterion}' names unknown note field '{field}'").format(criterion=c.get("key"), field=c["note"])
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
    named = wording.fields(defn, absent)
    # Missing items read after "missing " in the refusal.
    if event:
        message = _("{fields}, assessed again at every evaluation, with this event or first with {event}").format(
            fields=named, event=wording.event(defn, event))
    else:
        message = _("{fields}, assessed again at every evaluation, with this event").format(fields=named)
    return Problem(absent[0], message, missing=True)


def _validate_reassessed(defn, rule) -> str | None:
    keys = rule.params.get("keys")
    if not isinstance(keys, list) or not keys:
        return _("needs 'keys' (the fields assessed again)")
    event = rule.params.get("event")
    if event is not None and not defn.has_event(str(event)):
        return _("names unknown event '{event}'").format(event=event)
    return None


kind("reassessed", field_params=("keys",), validate=_validate_reassessed)(_check_reassessed)
