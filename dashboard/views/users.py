"""Users (administrators): accounts, roles, disabling and password resets, all audited.

The same operations as `kapcds users …`; passwords are only ever stored as bcrypt hashes.
"""

from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from base.clock import clinic_text, zone_label
from dashboard.widgets import auth, components, sessions_panel
from records.db import session_factory
from records.errors import RecordError
from records.security.policy import ROLES, SECURITY
from records.security.users import create_user, list_users, set_active, set_password, set_role
from records.tables.clinical import utcnow

PAGE = "users"  # this page's key in records.security.policy (and its URL)
ws = components.start_page(PAGE, "Users")
actor = ws.actor
flash = st.session_state.pop("us_flash", None)
if flash:
    st.success(flash)

with session_factory(ws.engine)() as session:
    accounts = list_users(session)
auth.audit_view("page_view", SECURITY, detail="user list")
now = utcnow()
st.dataframe(pd.DataFrame([{
    "user": u.username, "role": auth.ROLE_LABELS[u.role], "e-mail (SSO)": u.email or "",
    "active": u.active,
    "locked": bool(u.locked_until and u.locked_until > now),
    f"last sign-in ({zone_label()})": clinic_text(u.last_login_at, with_zone=False,
                                                 missing=""),
} for u in accounts]), hide_index=True, width="stretch")


def _apply(work: Callable[[Session], object], message: str) -> None:
    """Run one account change as a unit of work; show the store's refusal as an error."""
    try:
        with session_factory(ws.engine)() as session:
            work(session)
            session.commit()
    except (RecordError, ValueError) as error:
        st.error(components.plain(error), icon=":material/error:")
        return
    st.session_state["us_flash"] = message
    st.rerun()


add, change = st.columns(2, gap="large")
with add, st.form("us_add", clear_on_submit=True):
    st.markdown("**Add an account**")
    new_name = st.text_input("Username", key="us_new_name")
    new_role = st.selectbox("Role", ROLES, key="us_new_role", format_func=auth.ROLE_LABELS.get)
    new_password = st.text_input("Initial password", type="password", key="us_new_password")
    if st.form_submit_button("Add", type="primary"):
        _apply(lambda s: create_user(s, new_name, new_password, new_role, actor),
               f"Account {new_name.strip().lower()} added.")

names = [u.username for u in accounts]
with change:
    st.markdown("**Change an account**")
    chosen = st.selectbox("Account", names, key="us_account")
    role = st.selectbox("Role", ROLES, key="us_role", format_func=auth.ROLE_LABELS.get)
    c1, c2, c3 = st.columns(3)
    if c1.button("Set role", key="us_set_role", disabled=chosen == actor.username):
        _apply(lambda s: set_role(s, chosen, role, actor), f"{chosen} is now {role}.")
    if c2.button("Disable", key="us_disable", disabled=chosen == actor.username):
        _apply(lambda s: set_active(s, chosen, False, actor), f"{chosen} disabled.")
    if c3.button("Enable", key="us_enable"):
        _apply(lambda s: set_active(s, chosen, True, actor), f"{chosen} enabled (unlocked).")
    with st.form("us_password", clear_on_submit=True):
        password = st.text_input(f"New password for {chosen}", type="password",
                                 key="us_password_value")
        if st.form_submit_button("Set password"):
            _apply(lambda s: set_password(s, chosen, password, actor),
                   f"Password of {chosen} changed.")
    sessions_panel.render_sso_identity(ws, names)

sessions_panel.render_sessions(ws)
