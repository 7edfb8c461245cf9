"""An evaluation is scored per criterion; its outcome agrees with the score or records why not
(issue 16, point 1). Service layer on both backends; the CLI for the refusal's one sentence."""

from __future__ import annotations

import pytest

from engine.errors import RequirementsMissing
from engine.lifecycle.services import fire, history_of, show
from tests.helpers import add_service, walk_service

from .conftest import REASSESSED, scorecard

pytestmark = pytest.mark.usefixtures("ctx")


def under_evaluation(ctx, **values) -> str:
    ref = add_service(ctx, **values)
    walk_service(ctx, ref, "integrated")
    fire(ctx, "admin", ref, "open_evaluation")
    return ref


def test_low_scores_and_continue_need_a_reason(ctx):
    ref = under_evaluation(ctx)
    low = {**scorecard(1), **REASSESSED, "evaluation_findings": "Kegiatan tidak berjalan", "evaluation_recommendation": "continue"}
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "continue", values=low)
    message = str(refused.value)
    # The rule's sentence in English: this process has not bound gettext to the catalog (the CLI does).
    assert ("the scorecard gives 1.00 of 4 (Not effective), which recommends Terminate (terminate), not Continue (continue); "
            "record the reason for departing from it in departure_reason (Reason for departing from the score)") in message
    assert show(ctx, ref)["state"] == "under_evaluation"  # nothing changed

    reason = "Mitra baru berganti direksi; Sekda meminta satu tahun lagi"
    shown = fire(ctx, "admin", ref, "continue", values={**low, "departure_reason": reason})
    assert shown["state"] == "integrated" and shown["data"]["departure_reason"] == reason
    last = history_of(ctx, ref)[-1]
    assert last["event"] == "continue" and last["data"]["departure_reason"] == reason
    assert last["data"]["score_sustainability"] == 1

    from engine.inventory.reports import build, render_text

    report = build(ctx)
    [departure] = report["evaluation_departures"]
    assert (departure["id"], departure["event"], departure["reason"]) == (ref, "continue", reason)
    assert reason in render_text(report)


def test_recommendation_must_agree_with_the_outcome(ctx):
    ref = under_evaluation(ctx)
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "continue",
             values={"evaluation_findings": "Tidak efektif", "evaluation_recommendation": "terminate"})
    assert "the recommendation Terminate (terminate) does not agree with Continue (continue)" in str(refused.value)


def test_good_scores_continue_without_a_reason(ctx):
    ref = under_evaluation(ctx)
    shown = fire(ctx, "admin", ref, "continue", values={**scorecard(4, budget=3), **REASSESSED, "evaluation_findings": "Efektif",
                                                         "evaluation_recommendation": "continue"})
    assert shown["state"] == "integrated"


def test_a_low_score_needs_a_note_and_scores_stay_in_range(ctx):
    ref = under_evaluation(ctx)
    base = {"evaluation_findings": "Efektif", "evaluation_recommendation": "continue"}
    no_note = {k: v for k, v in scorecard(4, budget=2).items() if k != "score_budget_note"}
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "continue", values={**base, **no_note})
    assert "a score of 2 for Budget realisation needs a note in score_budget_note (" in str(refused.value)
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "continue", values={**base, **scorecard(4, benefit=5)})
    assert "score_benefit (Score: benefit to the region and its people) must be a whole score from 1 to 4, not 5" in str(refused.value)
    partial = {k: v for k, v in scorecard(4).items() if k != "score_ikn"}
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "continue", values={**base, **partial})
    assert "belum diisi: score_ikn (Score: IKN relevance), as the scorecard is incomplete" in str(refused.value)


def test_upgrade_and_extend_from_an_evaluation_need_the_scorecard(ctx):
    ref = under_evaluation(ctx)
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "upgrade")
    assert "evaluation_findings" in str(refused.value)
    with pytest.raises(RequirementsMissing) as refused:
        fire(ctx, "admin", ref, "upgrade", values={"evaluation_findings": "Efektif, siap PKS"})
    assert "belum diisi: the scorecard, as Upgrade to a PKS (upgrade) closes an evaluation: score_realisation (" in str(refused.value)
    with pytest.raises(RequirementsMissing):
        fire(ctx, "admin", ref, "extend", values={"ends_on": "2033-01-15", "adendum_ref": "ADD/01",
                                                   "evaluation_findings": "Efektif"})
    shown = fire(ctx, "admin", ref, "upgrade", values={**scorecard(4), **REASSESSED, "evaluation_findings": "Efektif, siap PKS"})
    assert shown["state"] == "integrated" and shown["created"]

    # Outside an evaluation, upgrade needs no scorecard (the KB's normal path), from signed too.
    other = add_service(ctx, title="KB Pariwisata")
    walk_service(ctx, other, "signed")
    assert fire(ctx, "admin", other, "upgrade")["created"]


def test_the_cli_refusal_is_one_sentence(cli, ctx):
    ref = under_evaluation(ctx)
    args = ["fire", ref, "continue", "--set", "evaluation_findings=Tidak efektif", "--set", "evaluation_recommendation=continue"]
    for k, v in {**scorecard(1), **REASSESSED}.items():
        args += ["--set", f"{k}={v}"]
    refused = cli(*args, check=False)
    assert refused.returncode == 5 and len(refused.stderr.strip().splitlines()) == 1
    assert "lembar skor memberi nilai 1,00 dari 4 (Tidak efektif), yang merekomendasikan Akhiri (terminate), bukan Lanjutkan (continue)" \
        in refused.stderr and "Traceback" not in refused.stderr
    ok = cli(*args, "--set", "departure_reason=Arahan Bupati: dilanjutkan dengan pendampingan")
    assert "kini berstatus" in ok.stdout
    history = cli("history", ref, "--json").json()
    assert history[-1]["data"]["departure_reason"] == "Arahan Bupati: dilanjutkan dengan pendampingan"
