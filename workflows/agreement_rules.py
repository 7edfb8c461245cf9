"""Rule kinds about who cooperates on what: the category agrees with the partner, and the field
(urusan) is one the lead OPD is responsible for.

    { rule = "category_partner", category = "category", partner_type = "partner_type", limits = "category_partner_types" }
    { rule = "field_in_urusan", key = "field", opd = "lead_opd", unless = "urusan_reason", warn = true }

``category_partner`` reads the allowed partner types of each category from the limits table
named by ``limits`` (definition settings, overridable in the deployment's configuration); a
category not listed there, or an agreement without a category yet, is not checked.
``field_in_urusan`` asks the view for the lead OPD's urusan (``view.opd_urusan(code)``, from the
OPD directory); an OPD that lists none is not checked. With ``warn = true`` the rule only flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from gettext import gettext as _  # the catalog engine/i18n.py binds; English until it does

from . import wording
from .guards import Problem
from .rule_kinds import kind


def _check_category_partner(defn, rule, view, values, stored, supplied) -> Problem | None:
    p = rule.params
    category = values.get(p.get("category", "category"))
    partner_type = values.get(p.get("partner_type", "partner_type"))
    table = view.limit(p["limits"]) or {}
    entry = table.get(category) if category else None
    if entry is None or partner_type in (None, ""):
        return None
    allowed = entry.get("partner_types", []) if isinstance(entry, Mapping) else list(entry)
    if partner_type in allowed:
        return None
    source = entry.get("source", "") if isinstance(entry, Mapping) else ""
    # Where the table comes from is data (its name and legal source), quoted as it is.
    where = f"{p['limits']}.{category}" + (f": {source}" if source else "")
    category_key, partner_key = p.get("category", "category"), p.get("partner_type", "partner_type")
    return Problem(partner_key, _("the category {category} is for the partner type(s) {allowed}, not {partner_type} ({where})")
        .format(
        category=wording.choice(view, category_key, category), allowed=wording.choices(view, partner_key, allowed),
        partner_type=wording.choice(view, partner_key, partner_type), where=where))


def _validate_limits(defn, rule) -> str | None:
    if not isinstance(rule.params.get("limits"), str):
        return _("needs 'limits' (the table of partner types per category)")
    return None


kind("category_partner", field_params=("category", "partner_type"), validate=_validate_limits)(_check_category_partner)


def _check_field_in_urusan(defn, rule, view, values, stored, supplied) -> Problem | None:
    p = rule.params
    field, opd = values.get(p.get("key", "field")), values.get(p.get("opd", "lead_opd"))
    unless = p.get("unless")
    if not field or not opd or (unless and values.get(unless)):
        return None
    lookup = getattr(view, "opd_urusan", None)
    listed = lookup(opd) if lookup is not None else None
    if not listed or field in listed:
        return None
    field_key = p.get("key", "field")
    message = _("the field {field} is not among the urusan of the lead OPD {opd}: {listed}").format(
        field=wording.choice(view, field_key, field), opd=opd, listed=wording.choices(view, field_key, sorted(listed)))
    if unless:
        message += "; " + _("record why it still fits in {field}").format(field=wording.field(defn, unless))
    return Problem(unless or field_key, message)


kind("field_in_urusan", field_params=("key", "opd", "unless"))(_check_field_in_urusan)


def _check_in_future(defn, rule, view, values, stored, supplied) -> Problem | None:
    key = rule.params["key"]
    value = values.get(key)
    if hasattr(value, "isoformat") and value <= view.today:
        return Problem(key, _("{field} {value} must be after today ({today})").format(
            field=wording.field(defn, key), value=wording.day(value), today=wording.day(view.today)))
    return None


kind("in_future", field_params=("key",))(_check_in_future)


def _check_plan_current(defn, rule, view, values, stored, supplied) -> Problem | None:
    from .plans import cited_period

    key = rule.params.get("key", "plan_ref")
    period = cited_period(view.limit(rule.params.get("periods", "planning_periods")), values.get(key))
    if period is not None and period.ends_on < view.today:
        return Problem(key, _("{field} cites {period}, which ended on {date}; cite the plan now in force").format(
            field=wording.field(defn, key), period=period.label, date=wording.day(period.ends_on)))
    return None


kind("plan_current", field_params=("key",))(_check_plan_current)
