"""What a form starts from (issue 23 defects 6, 9, 10).

- Users: the Role selector starts at the chosen account's stored role; a change that takes
  access away needs a ticked confirmation before Set role works.
- What-if: everything below the inputs is derived from the current inputs on every run.
- Session form: the number is the next one, as text; no warning before anything is entered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from apptest_helpers import plotly_figures, sign_in, texts
from streamlit.testing.v1 import AppTest
from test_progress import _open

from dashboard.services.workspace import Workspace
from records.db import session_factory
from records.security.policy import Actor
from records.security.users import create_user, get_user

VIEW = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "what_if.py"
ROOT = Actor("app-tests", "system")


def _account(workspace: Workspace, name: str, role: str) -> None:
    with session_factory(workspace.engine)() as session:
        if get_user(session, name) is None:
            create_user(session, name, "a fine long password", role, ROOT)
            session.commit()


def _stored_role(workspace: Workspace, name: str) -> str:
    with session_factory(workspace.engine)() as session:
        user = get_user(session, name)
        assert user is not None
        return user.role


def test_role_selector_starts_at_the_accounts_role(open_page: Callable[..., AppTest],
                                                   workspace: Workspace) -> None:
    _account(workspace, "state.scientist", "data_scientist")
    _account(workspace, "state.admin", "admin")
    at = open_page("users", role="admin")
    for name, role in (("state.scientist", "data_scientist"), ("state.admin", "admin"),
                       ("state.scientist", "data_scientist")):
        at.selectbox(key="us_account").set_value(name).run()
        assert at.selectbox(key="us_role").value == role, name
        assert "takes access away" not in texts(at.warning)  # nothing asked before a change


def test_lowering_a_role_asks_first(open_page: Callable[..., AppTest],
                                    workspace: Workspace) -> None:
    _account(workspace, "lower.me", "data_scientist")
    at = open_page("users", role="admin")
    at.selectbox(key="us_account").set_value("lower.me").run()
    at.selectbox(key="us_role").set_value("trainee").run()
    assert "This takes access away: lower.me goes from" in texts(at.warning)
    set_role = next(b for b in at.button if str(b.key).startswith("us_set_role"))
    assert set_role.disabled  # not before the confirmation is ticked (no click reaches it)
    assert _stored_role(workspace, "lower.me") == "data_scientist"
    box = next(c for c in at.checkbox if str(c.key).startswith("us_confirm_role"))
    box.check().run()
    next(b for b in at.button if str(b.key).startswith("us_set_role")).click().run()
    assert _stored_role(workspace, "lower.me") == "trainee"
    assert "lower.me is now trainee." in texts(at.success)
    assert at.selectbox(key="us_role").value == "trainee"


def test_raising_a_role_needs_no_confirmation(open_page: Callable[..., AppTest],
                                              workspace: Workspace) -> None:
    _account(workspace, "raise.me", "trainee")
    at = open_page("users", role="admin")
    at.selectbox(key="us_account").set_value("raise.me").run()
    at.selectbox(key="us_role").set_value("clinician").run()
    assert "takes access away" not in texts(at.warning)
    next(b for b in at.button if str(b.key).startswith("us_set_role")).click().run()
    assert _stored_role(workspace, "raise.me") == "clinician"


def test_session_number_is_text_and_no_warning_before_input(
        open_page: Callable[[str], AppTest]) -> None:
    at = _open(open_page, "KAP-00043")  # every planned session attended: the next is past it
    assert not [w for w in at.number_input if str(w.key).endswith("_session_number")]
    shown = texts(at.markdown)
    assert "(next; " in shown and "planned)" in shown
    assert "past the plan" not in texts(at.warning)
    assert not [c for c in at.checkbox if str(c.key).endswith("_past_plan")]


@pytest.fixture
def what_if(kapcds_home: Path) -> AppTest:
    at = sign_in(AppTest.from_file(str(VIEW), default_timeout=180), "trainee")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _dependence_marker(at: AppTest) -> float:
    figure = next(f for f in plotly_figures(at)
                  if "across the allowed range" in f["layout"]["title"]["text"])
    return float(figure["layout"]["shapes"][0]["x0"])


def test_dependence_chart_follows_route_and_dose(what_if: AppTest) -> None:
    at = what_if
    at.selectbox(key="wi_in_route").set_value("im").run()
    at.number_input(key="wi_in_dose_mg_per_kg").set_value(0.6).run()
    assert not at.exception
    assert _dependence_marker(at) == pytest.approx(0.6)
    assert "= 0.6" in texts(at.caption)
    at.number_input(key="wi_in_dose_mg_per_kg").set_value(0.75).run()
    assert _dependence_marker(at) == pytest.approx(0.75)


def test_saved_scenarios_belong_to_their_starting_point(what_if: AppTest) -> None:
    at = what_if
    patients = at.selectbox(key="wi_patient").options
    at.text_input(key="wi_name").input("first idea").run()
    at.button(key="wi_save").click().run()
    assert at.multiselect(key="wi_compare").value == ["first idea"]  # listed at once
    at.radio(key="wi_source").set_value("a blank template").run()
    assert not [m for m in at.multiselect if m.key == "wi_compare"]  # nothing from P-…
    assert "Save a scenario above" in texts(at.info)
    at.radio(key="wi_source").set_value("a de-identified patient").run()
    at.selectbox(key="wi_patient").set_value(patients[1]).run()
    assert not [m for m in at.multiselect if m.key == "wi_compare"]  # another patient
    at.selectbox(key="wi_patient").set_value(patients[0]).run()
    assert at.multiselect(key="wi_compare").value == ["first idea"]


def test_smallest_change_result_goes_when_inputs_change(what_if: AppTest) -> None:
    at = what_if
    at.slider(key="wi_cf_threshold").set_value(5).run()
    at.button(key="wi_cf_run").click().run()
    shown = texts(at.success) + texts(at.info) + str([d.key for d in at.dataframe])
    assert "already meets" in shown or "wi_cf_table" in shown or "Not reachable" in shown
    bmi = at.number_input(key="wi_in_bmi")
    bmi.set_value(float(bmi.value) + 1.0).run()
    assert "wi_cf_table" not in [d.key for d in at.dataframe]
    assert "already meets" not in texts(at.success)
    assert "The inputs or the target changed since the last search" in texts(at.caption)
