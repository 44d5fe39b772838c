"""Questionnaire rules (issue 27): exact wording, scoring that never fills a gap, the urgent
rule (PHQ-9 item 9 > 0, a positive C-SSRS screen), and the schedule's statuses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from base.proms_settings import prom_settings, smtp_settings
from models.clinical.prom_alerts import cssrs_grade, urgent_finding
from models.clinical.prom_instruments import CSSRS, GAD7, PHQ9, instrument
from models.clinical.prom_schedule import Plan, Schedule, completion_rate, occasions
from models.clinical.prom_scoring import AnswerError, check_answers

D0 = date(2026, 3, 2)


def test_phq9_and_gad7_wording_is_the_published_text() -> None:
    assert PHQ9.preamble == ("Over the last 2 weeks, how often have you been bothered by any "
                             "of the following problems?")
    assert PHQ9.item("item9").text == ("Thoughts that you would be better off dead or of "
                                       "hurting yourself in some way")
    assert PHQ9.item("item9").loinc == "44260-8" and PHQ9.loinc_total == "44261-6"
    assert [label for _, label in PHQ9.item("item1").options] == [
        "Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert GAD7.item("item2").text == "Not being able to stop or control worrying"
    assert GAD7.loinc_panel == "69737-5" and len(GAD7.items) == 8
    assert CSSRS.item("wish_dead").text == ("Have you wished you were dead or wished you "
                                            "could go to sleep and not wake up?")
    assert "Pfizer" in PHQ9.attribution and "Research Foundation" in CSSRS.attribution
    with pytest.raises(ValueError, match="phq9, gad7, cssrs"):
        instrument("phq8")


def test_an_unanswered_item_is_never_scored_as_zero() -> None:
    answers = {f"item{n}": 0 for n in range(1, 9)}
    with pytest.raises(AnswerError) as info:
        check_answers(PHQ9, answers)
    assert info.value.problems == {"item9": "please answer this question"}
    with pytest.raises(AnswerError) as info:
        check_answers(PHQ9, {**answers, "item9": "4", "extra": "1"})
    assert set(info.value.problems) == {"item9", "extra"}
    scored = check_answers(PHQ9, {**answers, "item1": "3", "item9": "2"})
    assert (scored.total, scored.item9) == (5, 2)  # difficulty is optional and not scored


def test_cssrs_follow_ups_are_required_after_yes_and_kept_when_given() -> None:
    with pytest.raises(AnswerError) as info:
        check_answers(CSSRS, {"wish_dead": 1, "thoughts": 1, "behaviour": 0})
    assert set(info.value.problems) == {"method", "intent", "plan"}
    scored = check_answers(CSSRS, {"wish_dead": 0, "thoughts": 0, "intent": 1,
                                   "behaviour": 0})
    assert scored.answers["intent"] == 1  # answered although skippable: kept, not dropped


def test_urgent_rule() -> None:
    assert urgent_finding("phq9", {"item9": 0}) is None
    assert urgent_finding("phq9", {"item9": 1}).grade == "item 9"
    assert urgent_finding("gad7", {"item1": 3}) is None
    assert cssrs_grade({"wish_dead": 0, "thoughts": 0, "behaviour": 0}) is None
    assert cssrs_grade({"wish_dead": 1, "thoughts": 0, "behaviour": 0}) == "lower"
    assert cssrs_grade({"wish_dead": 1, "thoughts": 1, "method": 1, "intent": 0, "plan": 0,
                        "behaviour": 0}) == "moderate"
    assert cssrs_grade({"wish_dead": 0, "thoughts": 0, "behaviour": 1,
                        "behaviour_3m": 1}) == "high"
    assert cssrs_grade({"wish_dead": 0, "thoughts": 0, "intent": 1, "behaviour": 0}) == "high"
    assert urgent_finding("cssrs", {"wish_dead": 1, "thoughts": 0, "behaviour": 0}) is not None


def test_schedule_statuses_during_and_after_the_series() -> None:
    dates = [D0, D0 + timedelta(days=3), D0 + timedelta(days=7)]
    running = Plan(dates, planned_sessions=6)
    found = occasions(Schedule(("phq9",), True, True, (1,)), running,
                      [("phq9", D0 + timedelta(days=2))], today=D0 + timedelta(days=8))
    by_label = {o.label: o.status for o in found}
    assert by_label == {"before session 2": "completed", "before session 3": "overdue",
                        "before session 4": "due", "induction week 1": "due",
                        "induction week 2": "upcoming"}
    ended = Plan(dates, planned_sessions=3)
    after = occasions(Schedule(("gad7",), False, False, (1, 2)), ended, [],
                      today=D0 + timedelta(days=7 + 11))
    assert [(o.label, o.status) for o in after] == [("follow-up week 1", "overdue"),
                                                    ("follow-up week 2", "due")]
    assert completion_rate(found) == (1, 2)


def test_a_session_without_a_date_is_said_not_guessed() -> None:
    plan = Plan([D0, None], planned_sessions=6)
    assert occasions(Schedule(), plan, [], today=D0) == []
    assert plan.missing and "without a recorded date" in plan.missing[0]


def test_settings_defaults_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAPCDS_PROMS_LINK_DAYS", "KAPCDS_CRISIS_LINES", "KAPCDS_SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)
    settings = prom_settings()
    assert settings.link_days == 7 and settings.crisis_lines[0].startswith("988")
    assert smtp_settings().security == "starttls" and smtp_settings().port == 587
    monkeypatch.setenv("KAPCDS_CRISIS_LINES", "Samaritans: 116 123; NHS: 111")
    assert prom_settings().crisis_lines == ("Samaritans: 116 123", "NHS: 111")
    monkeypatch.setenv("KAPCDS_PROMS_LINK_DAYS", "90")
    with pytest.raises(ValueError, match="KAPCDS_PROMS_LINK_DAYS must be between 1 and 30"):
        prom_settings()
    monkeypatch.setenv("KAPCDS_SMTP_SECURITY", "ssl3")
    with pytest.raises(ValueError, match="starttls, tls, none"):
        smtp_settings()
