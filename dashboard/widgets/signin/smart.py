"""SMART App Launch in the browser (issue 26): from the EHR straight to the launched patient.

An EHR launch opens the dashboard at ``?iss=…&launch=…``; a standalone sign-in is a button
per allow-listed EHR on the sign-in page. Either way this module asks
``dashboard.services.smart_launch`` for the authorisation request, keeps the PKCE verifier
and nonce server side (in the store, by a hash of ``state``, for ``PENDING_SECONDS``, so any
replica can take the callback) and sends the browser to the EHR. The EHR sends it back to
``KAPCDS_SMART_REDIRECT_URI`` with
``?code=…&state=…``; the launch is completed, the session token is kept like any other
sign-in (``browser_session``), and the router lands on Candidate review with the launched
patient selected — no password form. Text from the EHR is shown inert (``components.plain``).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping

import streamlit as st
from sqlalchemy import Engine

from dashboard.services.smart_launch import (
    Landing,
    allowed_issuers,
    begin_launch,
    finish_launch,
    keep_pending,
    take_pending,
)
from dashboard.widgets import components, resources
from dashboard.widgets.signin import browser_session
from interop.smart.flow import Pending
from interop.smart.settings import SmartError, smart_settings
from records.security import smart_pending
from records.security.policy import Actor, pages_for

log = logging.getLogger(__name__)
PENDING_SECONDS = 600  # an authorisation left unfinished longer than this is refused
REFUSED_KEY = "smart_refused"  # why the last launch was refused (shown on the sign-in page)
LANDING_KEY = "smart_landing"  # a launch just completed: open its patient on Candidate review
NOTES_KEY = "smart_notes"  # (patient id, notes) of the launched patient's import
BINDING_COOKIE = "kapcds_smart_launch"  # ties a callback to the browser that began it
EXPIRED = ("This EHR sign-in has expired or was already used. Launch KAP-CDS from the EHR "
           "again.")
OTHER_BROWSER = ("This EHR sign-in was begun in another browser, so it was not accepted "
                 "(a link someone else sent cannot sign you in as them). Launch KAP-CDS from "
                 "the EHR again.")
# The binding cookie is SameSite=Lax: the EHR sends the browser back with a top-level GET.
_REDIRECT_JS = """
export default function (component) {
  const data = component.data || {};
  if (!data.url) { return; }
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = data.cookie + "=" + encodeURIComponent(data.binding) +
    "; Max-Age=" + data.max_age + "; Path=" + data.path + "; SameSite=Lax" + secure;
  window.top.location.assign(data.url);
}
"""
_redirector = st.components.v2.component("kapcds_smart_redirect", js=_REDIRECT_JS)


def _client() -> str | None:
    try:
        value = st.context.headers.get("User-Agent")
    except Exception:  # noqa: BLE001 - no browser (tests)
        return None
    return value if isinstance(value, str) else None


def _cookie(name: str) -> str:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no browser connection (some tests)
        return ""
    return value if isinstance(value, str) else ""


def _send_to_ehr(engine: Engine, pending: Pending) -> None:
    """Keep the launch and send the browser to the EHR's authorisation page (the URL as
    data, never markup); a link too, for a browser that blocks the script."""
    binding = secrets.token_urlsafe(24)  # login CSRF: the callback must come to this browser
    keep_pending(engine, pending, binding, PENDING_SECONDS)
    st.info(f"Signing in through {components.plain(pending.config.fhir_base)} …",
            icon=":material/key:")
    st.link_button("Continue to the EHR sign-in", pending.authorization_url)
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    _redirector(key="kapcds_smart_redirect", height=0,
                data={"url": pending.authorization_url, "cookie": BINDING_COOKIE,
                      "binding": binding, "max_age": PENDING_SECONDS,
                      "path": f"/{base}" if base else "/"})
    st.stop()


def start(engine: Engine, iss: str, launch: str | None) -> None:
    """Begin an EHR (``launch`` given) or standalone launch; a refusal is kept to show."""
    st.query_params.clear()
    try:
        pending = begin_launch(engine, iss, launch, smart_settings())
    except (SmartError, ValueError) as error:
        st.session_state[REFUSED_KEY] = str(error)
        return
    _send_to_ehr(engine, pending)


def _finish(engine: Engine, params: Mapping[str, str]) -> None:
    found = take_pending(engine, str(params.get("state") or ""))
    st.query_params.clear()
    if found is None:
        st.session_state[REFUSED_KEY] = EXPIRED
        return
    if not hmac.compare_digest(smart_pending.digest(_cookie(BINDING_COOKIE)), found[1]):
        log.warning("SMART callback in a browser that did not begin the launch: refused")
        st.session_state[REFUSED_KEY] = OTHER_BROWSER
        return
    try:
        landing = finish_launch(engine, found[0], params, smart_settings(), _client())
    except (SmartError, ValueError) as error:
        st.session_state[REFUSED_KEY] = str(error)
        return
    browser_session.remember(landing.token)
    st.session_state[LANDING_KEY] = landing
    if landing.patient_id:
        st.session_state[components.PATIENT_KEY] = landing.patient_id
    st.session_state[NOTES_KEY] = landing


def intercept(engine: Engine) -> None:
    """Handle this run's launch (``iss`` + ``launch``) or callback (``state`` + ``code`` or
    ``error``); call before the signed-in user is resolved."""
    params = {k: st.query_params.get(k) or "" for k in ("iss", "launch", "state", "code",
                                                       "error", "error_description")}
    if params["iss"] and params["launch"]:
        start(engine, params["iss"], params["launch"])
    elif params["state"] and (params["code"] or params["error"]):
        _finish(engine, params)


def sign_in_options() -> None:
    """On the sign-in page: why a launch was refused, and a button per allowed EHR."""
    refused = st.session_state.pop(REFUSED_KEY, None)
    if refused:
        st.error(components.plain(refused), icon=":material/block:")
    engine = resources.workspace().engine
    for issuer in allowed_issuers(engine):
        if st.button(f"Sign in with {components.plain(issuer.label)}",
                     key=f"smart_{issuer.issuer}", icon=":material/local_hospital:"):
            start(engine, issuer.issuer, None)
            st.rerun()  # refused: show why


def land(actor: Actor) -> None:
    """Right after a launch, open Candidate review (its patient is already selected)."""
    landing: Landing | None = st.session_state.pop(LANDING_KEY, None)
    if landing is None:
        return
    if landing.patient_id and "candidate_review" in pages_for(actor.role):
        shown = dict([landing.app_context.split("=", 1)]) if landing.app_context in (
            "show=source_attributes",) else None  # a CDS card's appContext (HTI-1 panel)
        st.switch_page("views/candidate_review.py", query_params=shown)
    for note in landing.notes:  # no patient opened (a role without patient data, an error)
        st.warning(components.plain(note), icon=":material/report:")


def show_notes(patient_id: str | None) -> None:
    """The launched patient's import alert and warnings, while that patient is open (the
    warnings one click away, as on the FHIR upload; the suicide-risk alert never folded)."""
    kept: Landing | None = st.session_state.get(NOTES_KEY)
    if kept is None or patient_id is None or kept.patient_id != patient_id:
        return
    what = "added to" if kept.created else "updated in"
    st.info(f"Opened from the EHR (SMART launch): {components.plain(patient_id)} was "
            f"{what} KAP-CDS through the FHIR import, with {len(kept.notes)} import "
            "warning(s) to review.", icon=":material/local_hospital:")
    if kept.alert:
        st.error(components.plain(kept.alert), icon=":material/emergency:")
    if kept.notes:
        with st.expander(f"Import warnings ({len(kept.notes)})"):
            for note in kept.notes:
                st.warning(components.plain(note), icon=":material/report:")
