"""Every saving form stores one record per rendered form (issue 23 defect 1).

Each test saves through the page as a clinician would, then checks: the page says what was
saved, the store holds one new record, the form is drawn empty again (its keys are new) and
the button of the saved form is gone (a late second click reaches nothing). The replay
tests put the saved form's instance (its token) back and submit the same values again — a
second click that reached the server before the form was renewed — and the store answers
with the first record instead of writing another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from apptest_helpers import n_patients, n_sessions, texts
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest
from test_progress import _fill, _open, _prefix, _save

from dashboard.services.patients.listing import assess_patient, cohort_table
from dashboard.services.workspace import Workspace
from dashboard.widgets.entry.submission import STATE_PREFIX, FormInstance
from models.contract.doses import dose_feature_for
from models.contract.schema import FEATURES, defaults
from records.db import session_factory
from records.followup.record import list_visits
from records.repository import decisions_for
from records.tables.followup import MaintenancePlan


def _instance(at: AppTest, name: str) -> FormInstance:
    current = at.session_state[STATE_PREFIX + name]
    assert isinstance(current, FormInstance)
    return current


def _replay(at: AppTest, old: FormInstance) -> None:
    """Put an already saved form back, as a click that arrived before the renewal sees it."""
    at.session_state[STATE_PREFIX + old.name] = old
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def _enter_patient(at: AppTest, prefix: str, name: str, values: dict[str, Any]) -> None:
    """Every field of the form, the route among them; the dose in the one Dose field."""
    at.text_input(key=f"{prefix}_name").set_value(name)
    for spec in FEATURES:
        if spec.name == "esketamine_dose_mg":
            continue
        key, value = f"{prefix}_{spec.name}", values[spec.name]
        if spec.name == "dose_mg_per_kg":
            at.number_input(key=f"{prefix}_dose").set_value(
                values[dose_feature_for(values["route"])])
        elif spec.dtype == "bool":
            at.radio(key=key).set_value(bool(value))
        elif spec.dtype == "category":
            at.selectbox(key=key).set_value(value)
        else:
            at.number_input(key=key).set_value(value)


def _submit(at: AppTest, form_key: str, label: str) -> AppTest:
    at.form_submit_button(key=f"FormSubmitter:{form_key}-{label}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _keys(at: AppTest) -> set[str]:
    return {str(w.key) for w in at.get("form_submit_button")} | {
        str(b.key) for b in at.button}


def test_add_patient_saves_once_says_what_and_clears(open_page: Callable[[str], AppTest],
                                                    workspace: Workspace) -> None:
    at = open_page("data_entry")
    first = _instance(at, "add_patient")
    values = {**defaults(), "age": 47, "phq9_baseline": 19}
    before = n_patients(workspace)
    _enter_patient(at, first.key("add"), "Double Click", values)
    _submit(at, first.key("add_patient"), "Add patient")
    saved = re.search(r"Saved (KAP-\d+)\.", texts(at.success))
    assert saved, texts(at.success)
    assert n_patients(workspace) == before + 1
    fresh = _instance(at, "add_patient")
    assert fresh.token != first.token and fresh.number == first.number + 1
    assert at.text_input(key=f"{fresh.key('add')}_name").value == ""  # drawn empty
    assert at.number_input(key=f"{fresh.key('add')}_age").value is None
    assert f"FormSubmitter:{first.key('add_patient')}-Add patient" not in _keys(at)
    _replay(at, first)  # the same submission again, with its token
    _enter_patient(at, first.key("add"), "Double Click", values)
    _submit(at, first.key("add_patient"), "Add patient")
    assert f"Saved {saved.group(1)}." in texts(at.success)  # the first patient, again
    assert n_patients(workspace) == before + 1


def test_edit_patient_saves_once(open_page: Callable[[str], AppTest],
                                 workspace: Workspace) -> None:
    pid = "KAP-00022"
    at = open_page("data_entry")
    at.selectbox(key="edit_patient").set_value(pid).run()
    first = _instance(at, f"edit_{pid}")
    version = int(re.search(r"stored: version (\d+)", texts(at.caption)).group(1))  # type: ignore
    at.number_input(key=f"edit_{pid}_{version}_bmi").set_value(27.5)
    _submit(at, first.key(f"edit_form_{pid}"), "Save changes")
    assert f"Patient {pid} saved (version {version + 1})." in texts(at.success)
    _replay(at, first)  # the old form (its base version is the saved one now: a new form)
    assert _instance(at, f"edit_{pid}").token == first.token
    at.number_input(key=f"edit_{pid}_{version + 1}_bmi").set_value(27.5)
    _submit(at, first.key(f"edit_form_{pid}"), "Save changes")
    errors = texts(at.error)
    assert "already saved" in errors and "nothing new was stored" in errors
    assert f"stored: version {version + 1}" in texts(at.caption)  # no third version


def test_session_form_saves_once(open_page: Callable[[str], AppTest],
                                 workspace: Workspace) -> None:
    pid = "KAP-00058"  # 3 of 8 planned sessions: the next is within the plan
    at = _open(open_page, pid)
    rows = n_sessions(workspace, pid)
    first = _instance(at, f"session_induction_{pid}")
    _fill(at, _prefix(at, pid), on=date(2026, 3, 20), clock=time(9, 15))
    _save(at)
    assert f"Session {rows + 1} saved." in texts(at.success)
    assert n_sessions(workspace, pid) == rows + 1
    fresh = _instance(at, f"session_induction_{pid}")
    assert fresh.number == first.number + 1
    prefix = _prefix(at, pid)
    assert at.number_input(key=f"{prefix}_phq9").value is None  # drawn empty
    _replay(at, first)
    _fill(at, _prefix(at, pid), on=date(2026, 3, 20), clock=time(9, 15))
    _save(at)
    assert f"Session {rows + 1} saved." in texts(at.success)  # the first one's number
    assert n_sessions(workspace, pid) == rows + 1


def test_decision_is_appended_once(open_page: Callable[[str], AppTest],
                                   workspace: Workspace) -> None:
    at = open_page("candidate_review")
    at.text_input(key="cr_search").set_value("KAP-00014").run()
    pid = at.selectbox(key="cr_patient").value
    suggestion = assess_patient(workspace, cohort_table(workspace), pid).suggestion
    first = _instance(at, f"decision_{pid}")
    at.radio(key=first.key(f"dec_{pid}")).set_value(suggestion)
    _submit(at, first.key(f"decision_{pid}"), "Record decision")
    assert re.search(r"Decision recorded: .* \(saved as decision #\d+ for " + pid,
                     texts(at.success))
    fresh = _instance(at, f"decision_{pid}")
    assert at.radio(key=fresh.key(f"dec_{pid}")).value is None  # drawn empty
    _replay(at, first)
    at.radio(key=first.key(f"dec_{pid}")).set_value(suggestion)
    _submit(at, first.key(f"decision_{pid}"), "Record decision")
    with session_factory(workspace.engine)() as session:
        assert len(decisions_for(session, pid)) == 1  # append-only: one, for ever


def test_followup_visit_and_plan_save_once(open_page: Callable[[str], AppTest],
                                           workspace: Workspace) -> None:
    pid = "KAP-00041"  # sessions recorded: follow-up may be recorded
    at = _open(open_page, pid)
    with session_factory(workspace.engine)() as session:
        visits = len(list_visits(session, pid))
    visit = _instance(at, f"followup_visit_{pid}")
    prefix = visit.key(f"fu_{pid}")

    # a moment just past, whatever the hour (08:00 today was in the future after midnight)
    seen = (datetime.now() - timedelta(minutes=5)).replace(second=0, microsecond=0)

    def enter_visit() -> None:
        at.date_input(key=f"{prefix}_date").set_value(seen.date())
        at.time_input(key=f"{prefix}_time").set_value(seen.time())
        at.number_input(key=f"{prefix}_phq9").set_value(7)
        if f"{prefix}_day" in at.session_state:
            at.number_input(key=f"{prefix}_day").set_value(30)

    enter_visit()
    _submit(at, visit.key(f"followup_form_{pid}"), "Save follow-up visit")
    assert "Follow-up visit saved" in texts(at.success), texts(at.error)
    _replay(at, visit)
    enter_visit()
    _submit(at, visit.key(f"followup_form_{pid}"), "Save follow-up visit")
    with session_factory(workspace.engine)() as session:
        assert len(list_visits(session, pid)) == visits + 1

    plan = _instance(at, f"plan_{pid}")
    plans_before = _plans(workspace)

    def enter_plan() -> None:
        at.selectbox(key=f"{plan.key(f'mp_{pid}')}_schedule").set_value("weekly")
        at.date_input(key=f"{plan.key(f'mp_{pid}')}_date").set_value(date.today())
        at.text_input(key=f"{plan.key(f'mp_{pid}')}_reason").set_value("relapse risk")

    enter_plan()
    _submit(at, plan.key(f"plan_form_{pid}"), "Save plan")
    assert "Maintenance plan set to" in texts(at.success), texts(at.error)
    _replay(at, plan)
    enter_plan()
    _submit(at, plan.key(f"plan_form_{pid}"), "Save plan")
    assert _plans(workspace) == plans_before + 1


def _plans(workspace: Workspace) -> int:
    with session_factory(workspace.engine)() as session:
        return int(session.scalar(select(func.count(MaintenancePlan.id))) or 0)


def test_users_add_account_once(open_page: Callable[..., AppTest]) -> None:
    at = open_page("users", role="admin")
    first = _instance(at, "us_add")

    def enter() -> None:
        at.text_input(key=first.key("us_new_name")).set_value("twice.clicked")
        at.selectbox(key=first.key("us_new_role")).set_value("trainee")
        at.text_input(key=first.key("us_new_password")).set_value("a fine long password")

    enter()
    _submit(at, first.key("us_add"), "Add")
    assert "Account twice.clicked added." in texts(at.success)
    _replay(at, first)
    enter()
    _submit(at, first.key("us_add"), "Add")
    assert "already exists" not in texts(at.error)  # answered with the first, not refused
    assert "Account twice.clicked added." in texts(at.success)
