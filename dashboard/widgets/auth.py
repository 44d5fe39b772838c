"""Sign-in, idle time-out, role-filtered navigation and the per-page role check (the UI side
of ``records.policy``, which alone decides who may open what).

The signed-in user lives in ``st.session_state`` (server side; a browser cannot set it) and
is re-read from the store on every run, so disabling an account or changing a role takes
effect at the user's next click. Every sign-in, sign-out, time-out, refused page and
first view of a page or patient in a session is written to the audit trail.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from base.settings import security_settings
from dashboard.services.access import record_view, with_actor
from dashboard.services.shown import record_from_cohort
from dashboard.widgets import resources
from models.schema import FEATURES
from records import audit
from records.db import session_factory
from records.policy import SECURITY, AccessDenied, Actor, pages_for, patient_view
from records.policy import require_page as policy_require_page
from records.predictions import inputs_hash
from records.tables import utcnow
from records.users import authenticate, get_user, idle_expired

AUTH_KEY = "auth"  # {"username": str, "role": str, "last_seen": aware datetime}
FLASH_KEY = "auth_flash"
VIEWED_KEY = "auth_viewed"
VIEWS = Path(__file__).resolve().parents[1] / "views"
PAGES = {  # page key (file in views/) -> menu title and icon
    "home": ("Home", ":material/home:"),
    "candidate_review": ("Candidate review", ":material/person_search:"),
    "compare": ("Compare patients", ":material/compare_arrows:"),
    "progress": ("Treatment progress", ":material/monitoring:"),
    "data_entry": ("Data entry", ":material/edit_note:"),
    "cohort": ("Cohort overview", ":material/groups:"),
    "what_if": ("What-if explorer", ":material/tune:"),
    "model_lab": ("Model lab", ":material/model_training:"),
    "monitoring": ("Monitoring", ":material/query_stats:"),
    "audit": ("Audit log", ":material/policy:"),
    "users": ("Users", ":material/manage_accounts:"),
}
ROLE_LABELS = {"clinician": "clinician", "data_scientist": "data scientist",
               "trainee": "trainee", "admin": "administrator"}
SIGN_IN_FAILED = ("Sign-in failed: wrong username or password, or the account is disabled "
                  "or locked. After {n} failed attempts an account is locked for {m} minutes.")


def _end(engine: object, actor: Actor, action: str, message: str) -> None:
    audit.record_now(engine, actor, action, SECURITY, detail=message)  # type: ignore[arg-type]
    for key in (AUTH_KEY, VIEWED_KEY):
        st.session_state.pop(key, None)
    st.session_state[FLASH_KEY] = message


def current_user() -> Actor | None:
    """The signed-in user, checked against the store and the idle time-out (None: signed out)."""
    state = st.session_state.get(AUTH_KEY)
    if not state:
        return None
    engine = resources.workspace().engine
    actor, now = Actor(state["username"], state.get("role")), utcnow()
    if idle_expired(state.get("last_seen"), now):
        minutes = security_settings().session_idle_minutes
        _end(engine, actor, "session_timeout",
             f"Signed out after {minutes} minutes without activity. Please sign in again.")
        return None
    with session_factory(engine)() as session:
        user = get_user(session, actor.username)
    if user is None or not user.active:
        _end(engine, actor, "logout", "This account is no longer active.")
        return None
    state["role"], state["last_seen"] = user.role, now
    return Actor(user.username, user.role)


def sign_in_page() -> None:
    """The only page anyone signed out can open."""
    engine = resources.workspace().engine
    st.title("Sign in to KAP-CDS")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.info(flash, icon=":material/logout:")
    with st.form("sign_in"):
        username = st.text_input("Username", key="signin_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="signin_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        st.caption("Accounts are created by an administrator (`kapcds users add`).")
        return
    with session_factory(engine)() as session:
        result = authenticate(session, username, password)
    if result.ok:
        st.session_state[AUTH_KEY] = {"username": result.username, "role": result.role,
                                      "last_seen": utcnow()}
        st.rerun()
    settings = security_settings()
    st.error(SIGN_IN_FAILED.format(n=settings.lockout_attempts, m=settings.lockout_minutes),
             icon=":material/lock:")


def navigation_pages(actor: Actor) -> list[st.Page]:
    """The pages ``actor``'s role may open (and that exist), Home first and default."""
    return [st.Page(f"views/{key}.py", title=PAGES[key][0], icon=PAGES[key][1],
                    default=key == "home")
            for key in pages_for(actor.role) if (VIEWS / f"{key}.py").is_file()]


def sidebar(actor: Actor) -> None:
    """Who is signed in, and the sign-out button."""
    with st.sidebar:
        st.text(f"Signed in as {actor.username}\n({ROLE_LABELS.get(actor.role or '', '?')})")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            _end(resources.workspace().engine, actor, "logout", "You are signed out.")
            st.rerun()


def require_page(page: str) -> Actor:
    """Stop the page unless the signed-in role may open it; audit a refusal."""
    actor = current_user()
    if actor is None:
        st.error("Please sign in first.", icon=":material/lock:")
        st.stop()
    try:
        policy_require_page(actor.role, page)
    except AccessDenied:
        ws = with_actor(resources.workspace(), actor)
        record_view(ws, "access_denied", SECURITY, detail=f"page {page}", outcome="denied")
        st.error(f"Your role ({ROLE_LABELS.get(actor.role or '', actor.role)}) may not open "
                 "this page.", icon=":material/block:")
        st.stop()
    audit_view("page_view", patient_view(actor.role) or "aggregate", detail=f"page {page}")
    return actor


def audit_view(action: str, category: str, patient_id: str | None = None,
               detail: str | None = None) -> None:
    """Audit something shown to the signed-in user, once per sign-in session."""
    state = st.session_state.get(AUTH_KEY)
    if not state:
        return
    seen = st.session_state.setdefault(VIEWED_KEY, set())
    key = (action, category, patient_id, detail)
    if key in seen:
        return
    ws = with_actor(resources.workspace(), Actor(state["username"], state.get("role")))
    record_view(ws, action, category, patient_id, detail)
    seen.add(key)


def record_shown(ws: object, cohort: object, patient_id: str, context: str = "viewed") -> None:
    """Store the prediction shown for ``patient_id`` (monitoring), once per sign-in session
    per patient, model version and inputs; the audit entry says it was seen, this row what."""
    state = st.session_state.get(AUTH_KEY)
    if not state:
        return
    row = cohort.loc[patient_id]  # type: ignore[attr-defined]
    key = ("prediction_shown", context, patient_id, ws.version,  # type: ignore[attr-defined]
           inputs_hash({f.name: row[f.name] for f in FEATURES}))
    seen = st.session_state.setdefault(VIEWED_KEY, set())
    if key in seen:
        return
    with session_factory(ws.engine)() as session:  # type: ignore[attr-defined]
        if record_from_cohort(session, ws.version, cohort, patient_id,  # type: ignore
                              context, state["username"]):
            session.commit()
    seen.add(key)
