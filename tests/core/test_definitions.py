"""Workflow definitions as data and the checker that refuses a broken one, naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows import build_registry, load_file, load_registry
from workflows.checks import check
from workflows.spec import WorkflowDefinitionError, parse

ROOT = Path(__file__).resolve().parents[2]


def checked(data):
    return check(parse(data, "test.toml"))


def refusal(data) -> str:
    with pytest.raises(WorkflowDefinitionError) as info:
        checked(data)
    return str(info.value)


def test_the_small_definition_is_valid(mini):
    defn = checked(mini)
    assert defn.key == "mini@1"
    assert defn.final_states() == ("done", "dropped")
    assert [e.name for e in defn.events_from("checked")] == ["finish", "drop"]
    assert defn.field("kind").choices == ("KB", "PKS")
    assert defn.event("check").requires[2].when == {"key": "kind", "eq": "PKS"}
    assert defn.event("drop").requires[0].fresh is True


def test_shipped_definitions_load_and_check():
    registry = load_registry()
    ks = registry.latest("kerja-sama")
    assert ks.initial == "proposed"
    assert {s.name for s in ks.states} >= {
        "proposed", "identified", "verified", "synchronized", "signed", "integrated", "under_evaluation",
        "terminated", "expired", "rejected", "withdrawn",
    }
    # issue 16 adds the final state of a KB the chair declares not followed up
    assert set(ks.final_states()) == {"terminated", "expired", "rejected", "withdrawn", "not_followed_up"}
    assert ks.state("integrated").label.id == "Terintegrasi (berjalan)"
    assert ks.state("integrated").label.get("en") == "Integrated, in force"
    up = ks.event("upgrade")
    assert up.creates is not None and up.creates.state == "proposed" and up.creates.set["document_kind"] == "PKS"
    assert {f.type for f in ks.fields} >= {"text", "date", "bool", "choice", "reference"}
    for path in sorted((ROOT / "workflows" / "definitions").glob("*.toml")):
        assert load_file(path).source.endswith(f"({path.name})")


def test_a_refusal_names_the_definition(mini):
    mini["events"][0]["roles"] = ["mayor"]
    message = refusal(mini)
    assert message.startswith("workflow definition mini v1 (test.toml):")


# Each broken definition: how to break the small one, and what the refusal must say.
def _unreachable(d):
    d["states"].append({"name": "orphan", "label": "Orphan"})
    d["events"].append({"name": "leave", "from": ["orphan"], "to": "done", "roles": ["tkksd"]})


def _final_exit(d):
    d["events"].append({"name": "reopen", "from": ["done"], "to": "draft", "roles": ["tkksd"]})


def _dead_end(d):
    d["states"].append({"name": "stuck", "label": "Stuck"})
    d["events"].append({"name": "park", "from": ["checked"], "to": "stuck", "roles": ["tkksd"]})


def _unknown_role(d):
    d["events"][1]["roles"] = ["tkksd", "bupati"]


def _unknown_requirement(d):
    d["events"][0]["requires"].append("budget_code")


def _unknown_field_type(d):
    d["fields"].append({"key": "blob", "type": "binary", "label": "Blob"})


def _duplicate_state(d):
    d["states"].append({"name": "checked", "label": "Again"})


def _duplicate_event(d):
    d["events"].append({"name": "finish", "from": ["draft"], "to": "done", "roles": ["tkksd"]})


def _duplicate_field(d):
    d["fields"].append({"key": "ref", "type": "text", "label": "Ref again"})


def _unknown_source(d):
    d["events"][1]["from"] = ["checked", "approved"]


def _unknown_dest(d):
    d["events"][1]["to"] = "closed"


def _bad_condition_two_ops(d):
    d["events"][0]["requires"][2]["when"] = {"key": "kind", "eq": "PKS", "in": ["KB"]}


def _bad_condition_empty_any(d):
    d["events"][0]["requires"][2]["when"] = {"any": []}


def _bad_condition_no_key(d):
    d["events"][0]["requires"][2]["when"] = {"eq": "PKS"}


def _condition_unknown_field(d):
    d["events"][0]["requires"][2]["when"] = {"not": {"key": "colour", "set": True}}


def _unknown_rule(d):
    d["events"][1]["rules"].append({"rule": "frobnicate", "key": "starts_on"})


def _rule_unknown_field(d):
    d["events"][1]["rules"][1]["other"] = "signed_on"


def _condition_rule_without_message(d):
    d["events"][1]["rules"].append({"rule": "condition", "when": {"key": "kind", "eq": "KB"}})


def _deadline_unknown_state(d):
    d["deadlines"][0]["states"] = ["draft", "pending"]


def _deadline_unknown_event(d):
    d["deadlines"][1]["event"] = "vanish"


def _deadline_event_not_for_system(d):
    d["events"][2]["roles"] = ["chair"]


def _deadline_in_final_state(d):
    d["deadlines"][0]["states"] = ["draft", "done"]


def _deadline_unknown_recipient(d):
    d["deadlines"][0]["notify"] = ["mayor"]


def _no_final_state(d):
    for s in d["states"]:
        s.pop("final", None)
    d["deadlines"] = []
    d["events"].append({"name": "reopen", "from": ["done", "dropped"], "to": "draft", "roles": ["tkksd"]})


def _unknown_initial(d):
    d["initial"] = "start"


def _choice_without_choices(d):
    d["fields"][3]["choices"] = []


def _confirm_not_bool(d):
    d["fields"][3]["confirm"] = True


def _creates_unknown_workflow(d):
    d["events"][1]["creates"] = {"workflow": "pemanfaatan-xyz", "state": "draft"}


def _creates_unknown_state(d):
    d["events"][1]["creates"] = {"state": "limbo"}


def _event_without_roles(d):
    d["events"][1]["roles"] = []


BROKEN = [
    (_unreachable, "state 'orphan' is unreachable from the initial state 'draft'"),
    (_final_exit, "final state 'done' has an exit: event 'reopen'"),
    (_dead_end, "state 'stuck' is not final but no event leaves it"),
    (_unknown_role, "event 'finish' names unknown role 'bupati'"),
    (_unknown_requirement, "event 'check' requires unknown field 'budget_code'"),
    (_unknown_field_type, "field 'blob' has unknown type 'binary'"),
    (_duplicate_state, "duplicate state name(s): checked"),
    (_duplicate_event, "duplicate event name(s): finish"),
    (_duplicate_field, "duplicate field name(s): ref"),
    (_unknown_source, "event 'finish' starts from unknown state 'approved'"),
    (_unknown_dest, "event 'finish' leads to unknown state 'closed'"),
    (_bad_condition_two_ops, "needs exactly one of eq, in, set"),
    (_bad_condition_empty_any, "'any' needs a list of conditions"),
    (_bad_condition_no_key, "a condition needs 'key'"),
    (_condition_unknown_field, "reads unknown field 'colour'"),
    (_unknown_rule, "event 'finish' uses unknown rule 'frobnicate'"),
    (_rule_unknown_field, "rule 'after' names unknown field 'signed_on'"),
    (_condition_rule_without_message, "rule 'condition' needs 'when' and 'message'"),
    (_deadline_unknown_state, "deadline 'sla' names unknown state 'pending'"),
    (_deadline_unknown_event, "deadline 'auto_drop' fires unknown event 'vanish'"),
    (_deadline_event_not_for_system, "deadline 'auto_drop' fires event 'drop', which the role 'system' may not fire"),
    (_deadline_in_final_state, "deadline 'sla' runs in final state 'done'"),
    (_deadline_unknown_recipient, "deadline 'sla' notifies unknown recipient 'mayor'"),
    (_no_final_state, "it has no final state"),
    (_unknown_initial, "initial state 'start' is not a declared state"),
    (_choice_without_choices, "choice field 'kind' lists no choices"),
    (_confirm_not_bool, "field 'kind' is a confirmation but not of type bool"),
    (_creates_unknown_workflow, "creates an agreement in unknown workflow 'pemanfaatan-xyz'"),
    (_creates_unknown_state, "creates an agreement in unknown state 'limbo'"),
    (_event_without_roles, "event 'finish' names no role that may fire it"),
]


@pytest.mark.parametrize("breaker, expected", BROKEN, ids=[b.__name__.strip("_") for b, _ in BROKEN])
def test_checker_refuses_broken_definition(mini, breaker, expected):
    breaker(mini)
    assert expected in refusal(mini)


# Shape errors are refused while parsing, before the checker runs.
@pytest.mark.parametrize(
    "breaker, expected",
    [
        (lambda d: d.pop("initial"), "the definition lacks 'initial'"),
        (lambda d: d.update(version=0), "'version' must be a whole number from 1"),
        (lambda d: d["events"][0].pop("to"), "event 'check' needs a destination 'to'"),
        (lambda d: d["events"][0].update(colour="red"), "event 'check' has unknown key(s) colour"),
        (lambda d: d["states"][0].update(label={"id": "Draf"}), "state 'draft' needs a label with 'id' and 'en' texts"),
        (lambda d: d["events"][0]["requires"].append({"name": "x"}), "a requirement is a field key or a table with 'key'"),
        (lambda d: d["events"][1]["rules"].append({"key": "x"}), "a rule is a table with 'rule'"),
        (lambda d: d.update(colour="red"), "the definition has unknown key(s) colour"),
    ],
    ids=["no-initial", "version-0", "no-dest", "unknown-key", "half-label", "bad-requirement", "rule-without-kind", "top-level-key"],
)
def test_parse_refuses_malformed_data(mini, breaker, expected):
    breaker(mini)
    with pytest.raises(WorkflowDefinitionError) as info:
        parse(mini, "test.toml")
    assert expected in str(info.value)


def test_load_file_refuses_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nversion = \n')
    with pytest.raises(WorkflowDefinitionError, match="broken.toml: is not valid TOML"):
        load_file(path)


def test_registry_refuses_a_version_defined_twice(mini):
    a = parse(mini, "a.toml")
    b = parse(mini, "b.toml")
    with pytest.raises(WorkflowDefinitionError, match="version 1 of 'mini' is defined twice"):
        build_registry([a, b])


def test_registry_versions_and_lookup(mini):
    v1 = parse(mini, "v1.toml")
    mini["version"] = 2
    v2 = parse(mini, "v2.toml")
    reg = build_registry([v2, v1])
    assert reg.names() == ["mini"]
    assert reg.versions("mini") == [1, 2]
    assert reg.latest("mini") is v2 and reg.get("mini", 1) is v1
    with pytest.raises(LookupError, match="has no version 3"):
        reg.get("mini", 3)
    with pytest.raises(LookupError, match="unknown workflow 'nope'"):
        reg.latest("nope")


def test_registry_checks_cross_workflow_creates(mini):
    mini["events"][1]["creates"] = {"workflow": "other", "state": "start"}
    with pytest.raises(WorkflowDefinitionError, match="unknown workflow 'other'"):
        build_registry([parse(mini)])


def test_extra_definition_dirs_are_checked(tmp_path):
    (tmp_path / "bad.toml").write_text(
        'name = "bad"\nversion = 1\ninitial = "a"\n'
        '[[states]]\nname = "a"\nlabel = "A"\n'
        '[[states]]\nname = "z"\nlabel = "Z"\nfinal = true\n'
        '[[fields]]\nkey = "title"\ntype = "text"\nlabel = "T"\n'
        '[[fields]]\nkey = "partner"\ntype = "text"\nlabel = "P"\n'
        '[[fields]]\nkey = "lead_opd"\ntype = "opd"\nlabel = "O"\n'
        '[[events]]\nname = "go"\nfrom = ["a"]\nto = "z"\nroles = ["wizard"]\n'
    )
    with pytest.raises(WorkflowDefinitionError, match="unknown role 'wizard'"):
        load_registry((str(tmp_path),))
