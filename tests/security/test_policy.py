"""The role policy: which pages and data categories each role gets (pinned on purpose)."""

from __future__ import annotations

import pytest

from records.security import policy
from records.security.policy import AccessDenied


def test_pages_per_role() -> None:
    assert policy.pages_for("clinician") == ["home", "candidate_review", "compare", "progress",
                                             "data_entry", "cohort", "what_if"]
    assert policy.pages_for("data_scientist") == ["home", "cohort", "what_if", "model_lab",
                                                 "monitoring"]
    assert policy.pages_for("trainee") == ["home", "cohort", "what_if"]
    assert policy.pages_for("admin") == ["home", "audit", "users"]
    assert policy.pages_for(None) == [] and policy.pages_for("superuser") == []


@pytest.mark.parametrize("role, view", [
    ("clinician", policy.IDENTIFIED), ("data_scientist", policy.PSEUDONYMISED),
    ("trainee", policy.DEIDENTIFIED), ("admin", None), (None, None)])
def test_patient_view_per_role(role: str | None, view: str | None) -> None:
    assert policy.patient_view(role) == view


def test_only_clinicians_see_names_and_only_admins_see_the_audit_trail() -> None:
    for role in policy.ROLES:
        assert policy.may_access(role, policy.IDENTIFIED) == (role == "clinician")
        assert policy.may_access(role, policy.AUDIT) == (role == "admin")
        assert policy.may_access(role, policy.SECURITY) == (role == "admin")
        assert policy.may_access(role, policy.AGGREGATE)  # everyone sees aggregates
    assert policy.categories_for("trainee") == {policy.DEIDENTIFIED, policy.AGGREGATE}


def test_review_decisions_and_entry_are_clinician_only() -> None:
    for page in ("candidate_review", "compare", "progress", "data_entry"):
        assert [r for r in policy.ROLES if policy.may_open(r, page)] == ["clinician"]
    for page in ("model_lab", "monitoring"):
        assert [r for r in policy.ROLES if policy.may_open(r, page)] == ["data_scientist"]


def test_require_functions_raise_access_denied() -> None:
    with pytest.raises(AccessDenied, match="trainee role may not open the candidate review"):
        policy.require_page("trainee", "candidate_review")
    with pytest.raises(AccessDenied, match="signed-out"):
        policy.require_page(None, "home")
    with pytest.raises(AccessDenied, match="may not see identified data"):
        policy.require_category("data_scientist", policy.IDENTIFIED)
    policy.require_page("clinician", "candidate_review")
    assert policy.check_role("trainee") == "trainee"
    with pytest.raises(ValueError, match="unknown role"):
        policy.check_role("root")


def test_every_page_in_a_menu_is_a_known_page() -> None:
    for role in policy.ROLES:
        assert set(policy.pages_for(role)) <= set(policy.PAGES)
