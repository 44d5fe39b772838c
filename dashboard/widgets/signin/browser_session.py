"""The one thing the browser keeps of a sign-in: an opaque session token in a cookie.

``kapcds_session`` holds a random token (never a name or role), with ``SameSite=Strict``,
``Secure`` whenever the page is served over HTTPS, ``Path`` the app's base path and
``Max-Age`` the idle time-out (written again at most once a minute while the user is
active, so it expires with the session). Streamlit reads cookies only from the request
that opened the connection (``st.context.cookies``), which is exactly a reload, a new tab or
a bookmark; within a connection the token stays in ``st.session_state`` (server side).

The cookie is written by a tiny ``st.components.v2`` component whose JavaScript is the
constant below: the token reaches it as data, never as markup or code.
"""

from __future__ import annotations

import logging

import streamlit as st

from base.settings import security_settings
from records.tables.clinical import utcnow

log = logging.getLogger(__name__)

COOKIE = "kapcds_session"
TOKEN_KEY = "auth_token"  # the token of this browser tab's session (server-side state)
WRITE_KEY = "auth_cookie_write"  # what the cookie should become on this run
DEAD_KEY = "auth_cookie_dead"  # a cookie token this connection already found ended
REFRESH_SECONDS = 60

_COOKIE_JS = """
export default function (component) {
  const data = component.data || {};
  if (!data.name) { return; }
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  const value = data.token ? encodeURIComponent(data.token) : "";
  const age = data.token ? Math.max(0, Math.floor(data.max_age)) : 0;
  document.cookie = data.name + "=" + value + "; Max-Age=" + age + "; Path=" + data.path +
    "; SameSite=Strict" + secure;
}
"""
_cookie_writer = st.components.v2.component("kapcds_session_cookie", js=_COOKIE_JS)


def browser_token() -> str | None:
    """This tab's session token: kept in server-side state, else the cookie it came with."""
    token = st.session_state.get(TOKEN_KEY)
    if token:
        return str(token)
    value = _cookie_value()
    if not value or value == st.session_state.get(DEAD_KEY):
        return None  # (cookies are those the connection opened with: they do not change)
    return value


def _cookie_value() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser connection (bare script, some tests)
        return None
    return value if isinstance(value, str) else None  # (AppTest has no real cookies)


def remember(token: str) -> None:
    """Keep ``token`` for this tab and write it to the cookie on this run."""
    st.session_state[TOKEN_KEY] = token
    st.session_state[WRITE_KEY] = token


def forget() -> None:
    """Drop this tab's token and delete the cookie (signed out, timed out, revoked)."""
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state[WRITE_KEY] = ""
    st.session_state[DEAD_KEY] = _cookie_value()


def _path() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else "/"


def sync_cookie() -> None:
    """Write or delete the cookie when needed (call once per run, before the page runs)."""
    token = st.session_state.get(TOKEN_KEY)
    pending = st.session_state.pop(WRITE_KEY, None)
    if pending is None and not token:
        return  # signed out and nothing to delete: leave other tabs' cookie alone
    minute = int(utcnow().timestamp()) // REFRESH_SECONDS  # new data once a minute: refresh
    max_age = security_settings().session_idle_minutes * 60
    data = {"name": COOKIE, "token": token or "", "max_age": max_age, "path": _path(),
            "tick": minute}
    try:
        _cookie_writer(key="kapcds_session_cookie", data=data, height=0)
    except Exception as error:  # noqa: BLE001 - a reload then asks to sign in again
        log.warning("could not write the session cookie: %s", error)
