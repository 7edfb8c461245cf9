"""Guards: typed values, conditions, requirements and rules, without a database."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from workflows import guards, wording
from workflows.guards import ValueProblem, holds, missing_requirements, parse_value
from workflows.spec import Field, Label, Rule, parse


def f(type_: str, **kw) -> Field:
    return Field("x", type_, Label("X", "X"), **kw)


# ------------------------------------------------------------------ parse_value


@pytest.mark.parametrize("text, expected", [("2026-01-15", date(2026, 1, 15)), (" 2024-02-29 ", date(2024, 2, 29))])
def test_date_parses_iso_days(text, expected):
    assert parse_value(f("date"), text) == expected


def test_date_keeps_a_date():
    assert parse_value(f("date"), date(2026, 3, 1)) == date(2026, 3, 1)


@pytest.mark.parametrize("text", ["15-01-2026", "2026-1-5", "2026/01/15", "20260115", "tomorrow", "2026-01-15T08:00"])
def test_date_refuses_other_shapes(text):
    with pytest.raises(ValueProblem, match="must be a date as YYYY-MM-DD"):
        parse_value(f("date"), text)


@pytest.mark.parametrize("text", ["2026-02-30", "2025-02-29", "2026-13-01"])
def test_date_refuses_impossible_days(text):
    with pytest.raises(ValueProblem, match="is not a real date"):
        parse_value(f("date"), text)


@pytest.mark.parametrize("text", ["yes", "YES", "true", "True", "ya", "y", "1", " yes "])
def test_bool_true_words(text):
    assert parse_value(f("bool"), text) is True


@pytest.mark.parametrize("text", ["no", "NO", "false", "tidak", "n", "0"])
def test_bool_false_words(text):
    assert parse_value(f("bool"), text) is False


@pytest.mark.parametrize("text", ["maybe", "", "2", "yess"])
def test_bool_refuses_other_words(text):
    with pytest.raises(ValueProblem, match="must be yes or no"):
        parse_value(f("bool"), text)


def test_bool_keeps_a_bool():
    assert parse_value(f("bool"), False) is False


def test_choice_is_matched_case_insensitively_and_normalised():
    fld = f("choice", choices=("KB", "MoU", "PKS"))
    assert parse_value(fld, "mou") == "MoU"
    with pytest.raises(ValueProblem, match="must be one of KB, MoU, PKS, not 'NK'"):
        parse_value(fld, "NK")


@pytest.mark.parametrize("text, expected", [("3", 3), ("2.5", 2.5), ("2,5", 2.5), ("10.0", 10)])
def test_number(text, expected):
    assert parse_value(f("number"), text) == expected


def test_number_refuses_words():
    with pytest.raises(ValueProblem, match="must be a number"):
        parse_value(f("number"), "ten")


def test_text_and_reference():
    assert parse_value(f("text"), "  Otorita IKN ") == "Otorita IKN"
    assert parse_value(f("reference"), "REK-01/2026") == "REK-01/2026"
    with pytest.raises(ValueProblem, match="cannot be empty"):
        parse_value(f("text"), "   ")
    with pytest.raises(ValueProblem, match="control characters"):
        parse_value(f("reference"), "REK\x1b[31m")
    with pytest.raises(ValueProblem, match="needs a value"):
        parse_value(f("text"), None)


def test_opd_code_is_upper_cased():
    assert parse_value(f("opd"), "dkp") == "DKP"


def test_problem_names_field_and_label():
    fld = Field("signed_on", "date", Label("Tanggal", "Signing date"))
    with pytest.raises(ValueProblem, match=r"^signed_on \(Signing date\) must be a date"):
        parse_value(fld, "kemarin")


# ------------------------------------------------------------------ conditions


VALUES = {"kind": "PKS", "amount": 5, "ref": "", "signed": True}


@pytest.mark.parametrize(
    "cond, expected",
    [
        (None, True),
        ({"key": "kind", "eq": "PKS"}, True),
        ({"key": "kind", "eq": "KB"}, False),
        ({"key": "kind", "in": ["KB", "PKS"]}, True),
        ({"key": "kind", "in": ["KB"]}, False),
        ({"key": "ref", "set": True}, False),  # an empty text is not set
        ({"key": "ref", "set": False}, True),
        ({"key": "missing", "set": False}, True),
        ({"key": "signed", "set": True}, True),
        ({"not": {"key": "kind", "eq": "KB"}}, True),
        ({"any": [{"key": "kind", "eq": "KB"}, {"key": "amount", "eq": 5}]}, True),
        ({"any": [{"key": "kind", "eq": "KB"}, {"key": "amount", "eq": 6}]}, False),
        ({"all": [{"key": "kind", "eq": "PKS"}, {"key": "signed", "eq": True}]}, True),
        ({"all": [{"key": "kind", "eq": "PKS"}, {"key": "signed", "eq": False}]}, False),
        ({"not": {"any": [{"key": "kind", "eq": "KB"}, {"all": [{"key": "amount", "eq": 5}, {"key": "signed", "eq": False}]}]}}, True),
    ],
)
def test_holds(cond, expected):
    assert holds(cond, VALUES) is expected


# ------------------------------------------------------------------ requirements


def test_missing_requirements_conditional_and_confirmation(mini):
    defn = parse(mini)
    check = defn.event("check")
    assert [x.key for x in missing_requirements(defn, check, {})] == ["kind", "ok"]
    # A confirmation counts only when it is true; `ref` is required only for a PKS.
    assert [x.key for x in missing_requirements(defn, check, {"kind": "KB", "ok": False})] == ["ok"]
    assert [x.key for x in missing_requirements(defn, check, {"kind": "PKS", "ok": True})] == ["ref"]
    assert missing_requirements(defn, check, {"kind": "PKS"}, {"ok": True, "ref": "R-1"}) == []


def test_fresh_requirement_must_come_with_the_event(mini):
    defn = parse(mini)
    drop = defn.event("drop")
    stored = {"reason": "an old reason from an earlier step"}
    assert [x.key for x in missing_requirements(defn, drop, stored)] == ["reason"]
    assert missing_requirements(defn, drop, stored, {"reason": "new"}) == []


# ------------------------------------------------------------------ rules


@dataclass
class View:
    values: dict[str, Any]
    today: date = date(2026, 6, 1)
    overlaps: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)

    def count_events(self, event: str) -> int:
        return self.counts.get(event, 0)

    def open_overlaps(self, keys):
        return list(self.overlaps)

    def limit(self, name):
        return self.limits.get(name)


def rule_problem(mini, rule: Rule, values, stored=None, **view):
    defn = parse(mini)
    return guards.check_rule(defn, rule, View(stored or values, **view), values, stored or {})


def test_not_future(mini):
    rule = Rule("not_future", {"key": "starts_on"})
    assert rule_problem(mini, rule, {"starts_on": date(2026, 6, 1)}) is None
    p = rule_problem(mini, rule, {"starts_on": date(2026, 6, 2)})
    assert p.key == "starts_on" and p.message == "starts_on (Start) 2 June 2026 is in the future (today is 1 June 2026)"


def test_after(mini):
    rule = Rule("after", {"key": "ends_on", "other": "starts_on"})
    assert rule_problem(mini, rule, {"starts_on": date(2026, 1, 1), "ends_on": date(2026, 1, 2)}) is None
    for ends in (date(2026, 1, 1), date(2025, 12, 31)):
        p = rule_problem(mini, rule, {"starts_on": date(2026, 1, 1), "ends_on": ends})
        assert p is not None and "must be after starts_on (Start) 1 January 2026" in p.message


def test_increases(mini):
    rule = Rule("increases", {"key": "ends_on"})
    stored = {"ends_on": date(2030, 1, 1)}
    assert rule_problem(mini, rule, {"ends_on": date(2031, 1, 1)}, stored) is None
    p = rule_problem(mini, rule, {"ends_on": date(2030, 1, 1)}, stored)
    assert p.message == "the new ends_on (End) 1 January 2030 must be after the current 1 January 2030"


def test_no_open_overlap(mini):
    rule = Rule("no_open_overlap", {"keys": ["partner", "lead_opd"], "unless": "ok"})
    assert rule_problem(mini, rule, {"partner": "P"}) is None
    p = rule_problem(mini, rule, {"partner": "P"}, overlaps=["MN-2026-0001"])
    assert p.key == "ok"
    assert p.message == "another open agreement has the same Partner, Lead OPD: MN-2026-0001; acknowledge it with ok=yes"
    assert rule_problem(mini, rule, {"partner": "P", "ok": True}, overlaps=["MN-2026-0001"]) is None


def test_condition_rule(mini):
    rule = Rule("condition", {"when": {"key": "kind", "in": ["KB"]}, "message": "only a KB can be upgraded"})
    assert rule_problem(mini, rule, {"kind": "KB"}) is None
    assert rule_problem(mini, rule, {"kind": "PKS"}).message == "only a KB can be upgraded"


def test_max_times(mini):
    rule = Rule("max_times", {"event": "drop", "limit": 1})
    assert rule_problem(mini, rule, {}) is None
    assert "at most 1 time(s)" in rule_problem(mini, rule, {}, counts={"drop": 1}).message


def test_evaluate_reports_missing_before_rules(mini):
    defn = parse(mini)
    finish = defn.event("finish")
    view = View({})
    problems = guards.evaluate(defn, finish, view, {"starts_on": date(2027, 1, 1)})
    assert [(p.key, p.missing) for p in problems] == [("ends_on", True)]
    problems = guards.evaluate(defn, finish, view, {"starts_on": date(2027, 1, 1), "ends_on": date(2026, 1, 1)})
    assert [p.key for p in problems] == ["starts_on", "ends_on"]  # both rules, each named
    assert guards.evaluate(defn, finish, view, {"starts_on": date(2026, 1, 1), "ends_on": date(2026, 2, 1)}) == []


# ------------------------------------------------------------------ the reader's language


@pytest.fixture
def indonesian(monkeypatch):
    """gettext's global domain bound to the catalog in Indonesian, as the CLI binds it."""
    import gettext

    from engine import i18n

    monkeypatch.setenv("LANGUAGE", os.environ.get("LANGUAGE", ""))  # i18n.use sets it; restored afterwards
    domain = gettext.textdomain()
    i18n.use("id")
    yield
    gettext.textdomain(domain)


def test_rule_sentences_and_the_labels_in_them_follow_the_language_gettext_speaks(mini, indonesian):
    assert wording.language() == "id"
    p = rule_problem(mini, Rule("not_future", {"key": "starts_on"}), {"starts_on": date(2026, 6, 2)})
    assert p.message == "starts_on (Mulai) 2 Juni 2026 berada di masa depan (hari ini 1 Juni 2026)"
    p = rule_problem(mini, Rule("no_open_overlap", {"keys": ["partner", "lead_opd"], "unless": "ok"}), {"partner": "P"},
                     overlaps=["MN-2026-0001"])
    assert p.message == ("kerja sama lain yang masih berjalan memiliki Mitra, OPD yang sama: MN-2026-0001; nyatakan bahwa "
                         "hal ini disadari dengan ok=ya")
    defn = parse(mini)
    [missing] = guards.evaluate(defn, defn.event("finish"), View({}), {"starts_on": date(2026, 1, 1)})
    assert missing.message == "ends_on (Akhir)"
    with pytest.raises(ValueProblem, match=r"^x \(X\) harus berupa tanggal dengan format YYYY-MM-DD, bukan '15-01-2026'$"):
        parse_value(f("date"), "15-01-2026")


def test_values_in_rule_sentences_read_as_people_write_them(indonesian):
    assert (wording.number(1044), wording.number(6.04, 1), wording.percent(12.5), wording.day(date(2027, 8, 17))) == (
        "1.044", "6,0", "12,5 %", "17 Agustus 2027")
    labelled = type("LabelledView", (), {"choice_label": staticmethod(lambda key, value, lang: {"sewa": "Sewa"}.get(value, value))})
    assert (wording.choice(labelled, "form", "sewa"), wording.choice(labelled, "form", "KSP"), wording.choice(object(), "form", "sewa")) == (
        "Sewa (sewa)", "KSP", "sewa")


def test_values_in_english(english):
    assert wording.language() == "en"
    assert (wording.number(1044), wording.number(6.04, 1), wording.percent(12.5), wording.day(date(2027, 8, 17))) == (
        "1,044", "6.0", "12.5%", "17 August 2027")
