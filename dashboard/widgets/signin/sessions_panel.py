"""The Users page's sign-in sessions: who is signed in where, and ending a session now.

The same as `kapcds sessions list|revoke`; a revoked browser is signed out at its next click
in every tab. Only the session id is shown, never a token (the store does not have one).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from base.clock import clinic_text, zone_label
from dashboard.services.access import SignedInWorkspace, actor_of
from dashboard.widgets.entry.submission import FormInstance, form_instance, renew
from records.db import session_factory
from records.errors import RecordError
from records.security.signin_sessions import REASON_TEXT, SessionInfo, list_sessions, revoke
from records.security.sso_accounts import set_sso
from records.submissions import submit_once

FLASH_KEY = "us_sessions_flash"
METHODS = {"password": "password", "oidc": "single sign-on or SMART launch"}


def _table(rows: list[SessionInfo]) -> pd.DataFrame:
    since, last = f"since ({zone_label()})", f"last activity ({zone_label()})"
    return pd.DataFrame([{
        "session": r.id, "user": r.username, "signed in with": METHODS.get(r.method, r.method),
        since: clinic_text(r.created_at, with_zone=False),
        last: clinic_text(r.last_seen_at, with_zone=False),
        "state": "active" if r.active else REASON_TEXT.get(r.end_reason or "", "ended"),
        "browser": (r.client or "")[:80],
    } for r in rows], columns=["session", "user", "signed in with", since, last, "state",
                               "browser"])


def run_change(ws: SignedInWorkspace, form: FormInstance, values: dict, work: object,
         message: str) -> None:
    """One account change, once per submission token (a double click changes it once)."""
    try:
        with session_factory(ws.engine)() as session:
            submit_once(session, form.token, form.name, values,
                        lambda: work(session) and None,  # type: ignore[operator]
                        username=actor_of(ws).username)
            session.commit()
    except (RecordError, ValueError) as error:
        st.error(str(error), icon=":material/error:")
        return
    renew(form)
    st.session_state[FLASH_KEY] = message
    st.rerun()


def render_sessions(ws: SignedInWorkspace) -> None:
    """Active sign-in sessions (or every recent one) with a revoke button."""
    actor = actor_of(ws)
    st.header("Sign-in sessions")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    show_all = st.toggle("Include ended sessions", key="us_sessions_all")
    with session_factory(ws.engine)() as session:
        rows = list_sessions(session, active_only=not show_all)
    st.dataframe(_table(rows), hide_index=True, width="stretch")
    live = [r for r in rows if r.active]
    if not live:
        st.caption("No active sessions.")
        return
    labels = {r.id: f"{r.id} · {r.username} · {METHODS.get(r.method, r.method)} · last "
                    f"activity {clinic_text(r.last_seen_at)}" for r in live}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Session to end", list(labels), key="us_session",
                            format_func=labels.get)
    form = form_instance("us_revoke")
    if right.button("Revoke", key=form.key("us_revoke"), icon=":material/block:"):
        run_change(ws, form, {"session": chosen}, lambda s: revoke(s, chosen, actor),
             f"Session {chosen} ended: that browser is signed out at its next click.")


def render_sso_identity(ws: SignedInWorkspace, usernames: list[str]) -> None:
    """Set the e-mail address single sign-on matches an account by."""
    actor = actor_of(ws)
    form = form_instance("us_sso")
    with st.form(form.key("us_sso")):  # cleared by renewal, not on submit
        name = st.selectbox("Account", usernames, key=form.key("us_sso_account"))
        email = st.text_input("E-mail for single sign-on (empty clears it)",
                              key=form.key("us_sso_email"))
        if st.form_submit_button("Set e-mail"):
            run_change(ws, form, {"user": name, "email": email},
                 lambda s: set_sso(s, name, actor, email=email),
                 f"Single sign-on e-mail of {name} set.")
