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
    where = f" ({p['limits']}.{category}" + (f": {source}" if source else "") + ")"
    return Problem(p.get("partner_type", "partner_type"),
                   f"category {category} is for partner type(s) {', '.join(allowed)}, not {partner_type}{where}")


def _validate_limits(defn, rule) -> str | None:
    if not isinstance(rule.params.get("limits"), str):
        return "needs 'limits' (the table of partner types per category)"
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
    hint = f"; record why it still fits in {unless}" if unless else ""
    return Problem(unless or p.get("key", "field"),
                   f"the field {field} is not among the urusan of the lead OPD {opd} ({', '.join(sorted(listed))}){hint}")


kind("field_in_urusan", field_params=("key", "opd", "unless"))(_check_field_in_urusan)


def _check_in_future(defn, rule, view, values, stored, supplied) -> Problem | None:
    key = rule.params["key"]
    value = values.get(key)
    if hasattr(value, "isoformat") and value <= view.today:
        return Problem(key, f"{key} {value.isoformat()} must be after today ({view.today.isoformat()})")
    return None


kind("in_future", field_params=("key",))(_check_in_future)


def _check_plan_current(defn, rule, view, values, stored, supplied) -> Problem | None:
    from .plans import cited_period

    key = rule.params.get("key", "plan_ref")
    period = cited_period(view.limit(rule.params.get("periods", "planning_periods")), values.get(key))
    if period is not None and period.ends_on < view.today:
        return Problem(key, f"{key} cites {period.label}, which ended on {period.ends_on.isoformat()}; cite the plan now in force")
    return None


kind("plan_current", field_params=("key",))(_check_plan_current)
