"""Users (administrators): accounts, roles, disabling and password resets, all audited.

The same operations as `kapcds users …`; passwords are only ever stored as bcrypt hashes.
Every action carries its form's submission token (``records.submissions``), so a double
click changes an account once. The role selector starts at the chosen account's stored
role; a change that takes something away (``records.security.policy.lowers_role``) or
disables an administrator asks for confirmation first, and the store refuses to leave no
active administrator (``records.security.users``).
"""

from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from base.clock import clinic_text, zone_label
from dashboard.widgets import components
from dashboard.widgets.entry.submission import FormInstance, form_instance, renew
from dashboard.widgets.signin import auth, sessions_panel, smart_panel
from records.db import session_factory
from records.errors import RecordError
from records.security.policy import ADMIN, ROLES, SECURITY, lowers_role
from records.security.users import create_user, list_users, set_active, set_password, set_role
from records.submissions import submit_once
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


def _apply(form: FormInstance, values: dict, work: Callable[[Session], object],
           message: str) -> None:
    """Run one account change as a unit of work, once per submission token; show the
    store's refusal as an error. ``values`` identify the change (never a password)."""
    try:
        with session_factory(ws.engine)() as session:
            submit_once(session, form.token, form.name, values, lambda: work(session) and None,
                        username=actor.username)
            session.commit()
    except (RecordError, ValueError) as error:
        st.error(components.plain(error), icon=":material/error:")
        return
    renew(form)
    st.session_state["us_flash"] = message
    st.rerun()


add, change = st.columns(2, gap="large")
add_form = form_instance("us_add")
with add, st.form(add_form.key("us_add")):  # cleared by renewal, not on submit
    st.markdown("**Add an account**")
    new_name = st.text_input("Username", key=add_form.key("us_new_name"))
    new_role = st.selectbox("Role", ROLES, key=add_form.key("us_new_role"),
                            format_func=auth.ROLE_LABELS.get)
    new_password = st.text_input("Initial password", type="password",
                                 key=add_form.key("us_new_password"))
    if st.form_submit_button("Add", type="primary"):
        _apply(add_form, {"user": new_name, "role": new_role},
               lambda s: create_user(s, new_name, new_password, new_role, actor),
               f"Account {new_name.strip().lower()} added.")

by_name = {u.username: u for u in accounts}
admins = [u.username for u in accounts if u.role == ADMIN and u.active]
with change:
    st.markdown("**Change an account**")
    chosen = st.selectbox("Account", list(by_name), key="us_account")
    stored = by_name[chosen]
    if st.session_state.get("us_role_for") != (chosen, stored.role):
        st.session_state["us_role"] = stored.role  # start from the account's actual role
        st.session_state["us_role_for"] = (chosen, stored.role)
    role = st.selectbox("Role", ROLES, key="us_role", format_func=auth.ROLE_LABELS.get,
                        help=f"{chosen} is {auth.ROLE_LABELS[stored.role]} now.")
    st.caption(f"Stored role: {auth.ROLE_LABELS[stored.role]}"
               + ("" if stored.active else " (disabled)") + ".")
    act = form_instance("us_change")
    last_admin = stored.role == ADMIN and stored.active and admins == [chosen]
    role_confirmed = disable_confirmed = True
    if role != stored.role and last_admin:
        st.error(f"{chosen} is the last active administrator: the role cannot change until "
                 "another account is administrator.", icon=":material/block:")
    elif role != stored.role and lowers_role(stored.role, role):
        st.warning(f"This takes access away: {chosen} goes from "
                   f"{auth.ROLE_LABELS[stored.role]} to {auth.ROLE_LABELS[role]}.",
                   icon=":material/warning:")
        role_confirmed = st.checkbox(f"Yes, change {chosen} to {auth.ROLE_LABELS[role]}",
                                     key=act.key("us_confirm_role"))
    if stored.role == ADMIN and stored.active and not last_admin:
        disable_confirmed = st.checkbox(f"Yes, disable the administrator {chosen}",
                                        key=act.key("us_confirm_disable"))
    c1, c2, c3 = st.columns(3)
    if c1.button("Set role", key=act.key("us_set_role"),
                 disabled=chosen == actor.username or last_admin or not role_confirmed):
        if role == stored.role:
            st.info(f"{chosen} is {auth.ROLE_LABELS[role]} already: nothing changed.")
        else:
            _apply(act, {"action": "role", "user": chosen, "role": role},
                   lambda s: set_role(s, chosen, role, actor), f"{chosen} is now {role}.")
    if c2.button("Disable", key=act.key("us_disable"),
                 disabled=chosen == actor.username or last_admin or not disable_confirmed):
        _apply(act, {"action": "disable", "user": chosen},
               lambda s: set_active(s, chosen, False, actor), f"{chosen} disabled.")
    if c3.button("Enable", key=act.key("us_enable")):
        _apply(act, {"action": "enable", "user": chosen},
               lambda s: set_active(s, chosen, True, actor), f"{chosen} enabled (unlocked).")
    pw_form = form_instance("us_password")
    with st.form(pw_form.key("us_password")):  # cleared by renewal, not on submit
        password = st.text_input(f"New password for {chosen}", type="password",
                                 key=pw_form.key("us_password_value"))
        if st.form_submit_button("Set password"):
            _apply(pw_form, {"user": chosen},
                   lambda s: set_password(s, chosen, password, actor),
                   f"Password of {chosen} changed.")
    sessions_panel.render_sso_identity(ws, list(by_name))
    smart_panel.render(ws, list(by_name))

sessions_panel.render_sessions(ws)
