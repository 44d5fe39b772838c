"""Sign-in, sessions that survive a reload, role-filtered navigation and the per-page role
check (the UI side of ``records.security.policy``, which alone decides who may open what).

Signing in (a password, or single sign-on through ``sso``) opens a server-side session in
the store; the browser keeps only its opaque token (``browser_session``). Every run checks
the token against the store and re-reads the account, so an idle time-out, a sign-out in
another tab, a revocation, a disabled account or a changed role take effect at the next
click. Every sign-in, sign-out, time-out, refused page and first view of a page or patient
in a session is written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from base.oidc import oidc_settings
from base.settings import security_settings
from dashboard.services import signin
from dashboard.services.access import record_view, with_actor
from dashboard.services.patients.shown import record_from_cohort
from dashboard.widgets import resources
from dashboard.widgets.signin import browser_session, sso
from models.contract.schema import FEATURES
from records.db import session_factory
from records.predictions import inputs_hash
from records.security import signin_sessions as sessions
from records.security.policy import PAGES as POLICY_PAGES
from records.security.policy import SECURITY, AccessDenied, Actor, pages_for, patient_view
from records.security.policy import require_page as policy_require_page

AUTH_KEY = "auth"  # {"username": str, "role": str}: who this run is for (server side)
FLASH_KEY = "auth_flash"
SSO_REFUSED_KEY = "auth_sso_refused"  # the identity-provider login this tab refused
VIEWED_KEY = "auth_viewed"
VIEWS = Path(__file__).resolve().parents[2] / "views"
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
SIGN_IN_FAILED = ("Sign-in failed: wrong username or password, or the account is disabled. "
                  "After {n} failed attempts from one address, that address waits before it "
                  "may try the account again (30 s, doubling, at most {m} minutes).")
SIGN_IN_WAIT = ("Too many failed sign-ins from this address. Try again after {until} (UTC); "
                "sign-ins from other addresses are not affected.")
SSO_REFUSED = ("Single sign-on worked, but no active KAP-CDS account matches that identity. "
               "Ask an administrator to add your e-mail address to an account.")
NO_WAY_IN = ("Password sign-in is turned off (KAPCDS_LOCAL_SIGNIN=off) and single sign-on "
             "is not configured, so nobody can sign in. Set the KAPCDS_OIDC_* settings "
             "(docs/security.md) or turn password sign-in back on.")


def _address() -> str | None:
    try:
        ip, headers = st.context.ip_address, st.context.headers
    except Exception:  # noqa: BLE001 - no browser (tests)
        return None
    return signin.client_address(ip if isinstance(ip, str) else None, headers)


def _client() -> str | None:
    try:
        value = st.context.headers.get("User-Agent")
    except Exception:  # noqa: BLE001 - no browser (tests)
        return None
    return value if isinstance(value, str) else None


def _signed_out(message: str | None) -> None:
    for key in (AUTH_KEY, VIEWED_KEY):
        st.session_state.pop(key, None)
    browser_session.forget()
    if message:
        st.session_state[FLASH_KEY] = message


def _from_identity_provider(engine: object) -> str | None:
    """A token for this browser's identity-provider login, if it may open a new session."""
    claims = sso.identity()
    if claims is None:
        return None
    key = signin.sso_login_key(claims)
    if st.session_state.get(SSO_REFUSED_KEY) == key:
        return None  # refused once in this tab: not again at every click
    result, token = signin.sso_sign_in_session(engine, claims,  # type: ignore[arg-type]
                                               oidc_settings().match, _client())
    if token is None and result is None:  # a login whose session has ended
        sso.end()
        return None
    if token is None:  # no account for this identity
        st.session_state[SSO_REFUSED_KEY] = key
        st.session_state[FLASH_KEY] = SSO_REFUSED
        return None
    browser_session.remember(token)
    return token


IDLE_POLL_SECONDS = 30  # how soon after the idle time-out an unattended screen is cleared


@st.fragment(run_every=IDLE_POLL_SECONDS)
def idle_watch() -> None:
    """Clear the screen of an unattended tab: once its session has timed out (or was
    revoked or ended elsewhere), rerun the whole app, which signs the tab out and shows
    only the sign-in page. Reading only, so the poll is not activity (issue 17)."""
    token = st.session_state.get(browser_session.TOKEN_KEY)
    with session_factory(resources.workspace().engine)() as session:
        live = sessions.still_live(session, token)
    if not live:
        st.rerun(scope="app")


def current_user() -> Actor | None:
    """The signed-in user, checked against the store on every run (None: signed out)."""
    engine = resources.workspace().engine
    token = browser_session.browser_token()
    resolved = signin.resolve(engine, token)  # type: ignore[arg-type]
    if resolved.actor is None and token:
        _signed_out(resolved.message)
        sso.end()  # the provider's identity must not re-open an ended session
        return None
    if resolved.actor is None:
        token = _from_identity_provider(engine)
        resolved = signin.resolve(engine, token)  # type: ignore[arg-type]
        if resolved.actor is None:
            st.session_state.pop(AUTH_KEY, None)
            return None
    if st.session_state.get(browser_session.TOKEN_KEY) != token:
        browser_session.remember(token)  # type: ignore[arg-type]  # came with the cookie
    actor = resolved.actor
    st.session_state[AUTH_KEY] = {"username": actor.username, "role": actor.role}
    return actor


def _password_form(engine: object) -> None:
    with st.form("sign_in"):
        username = st.text_input("Username", key="signin_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="signin_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        st.caption("Accounts are created by an administrator (`kapcds users add`).")
        return
    result, token = signin.password_sign_in(engine, username, password,  # type: ignore[arg-type]
                                            _client(), _address())
    if token is not None:
        browser_session.remember(token)
        st.session_state[AUTH_KEY] = {"username": result.username, "role": result.role}
        st.rerun()
    settings = security_settings()
    if result.reason == "throttled" and result.locked_until is not None:
        st.error(SIGN_IN_WAIT.format(until=result.locked_until.strftime("%H:%M:%S")),
                 icon=":material/lock:")
        return
    st.error(SIGN_IN_FAILED.format(n=settings.lockout_attempts, m=settings.lockout_minutes),
             icon=":material/lock:")


def sign_in_page(extra: Callable[[], None] | None = None) -> None:
    """The only page anyone signed out can open (at every page's URL, so links survive);
    ``extra`` draws further ways in (the SMART launch's EHR buttons, ``smart``)."""
    engine = resources.workspace().engine
    st.title("Sign in to KAP-CDS")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.info(flash, icon=":material/logout:")
    if extra is not None:
        extra()
    local, single = security_settings().local_signin, sso.configured()
    if single and st.session_state.get(SSO_REFUSED_KEY):
        if st.button(f"Sign out of {sso.label()}", key="signin_sso_out",
                     icon=":material/logout:"):
            st.session_state.pop(SSO_REFUSED_KEY, None)
            if sso.end():
                st.stop()
    elif single:
        if st.button(f"Sign in with {sso.label()}", key="signin_sso", type="primary",
                     icon=":material/key:"):
            sso.start()
    if single and local:
        st.caption("or with a KAP-CDS password")
    if local:
        _password_form(engine)
    elif not single:
        st.error(NO_WAY_IN, icon=":material/block:")


def signed_out_pages(extra: Callable[[], None] | None = None) -> list[st.Page]:
    """The sign-in form, at Home's address and (hidden) at every other page's address."""
    def sign_in() -> None:
        sign_in_page(extra)

    pages = [st.Page(sign_in, title="Sign in", icon=":material/login:", url_path="home",
                     default=True)]
    pages += [st.Page(sign_in, title="Sign in", url_path=key, visibility="hidden")
              for key in POLICY_PAGES if key != "home" and (VIEWS / f"{key}.py").is_file()]
    return pages


def _refused(key: str) -> st.Page:
    def refused_page() -> None:
        require_page(key)  # says why, audits the attempt and stops

    return st.Page(refused_page, title=PAGES[key][0], url_path=key, visibility="hidden")


def navigation_pages(actor: Actor) -> list[st.Page]:
    """The pages ``actor``'s role may open (Home first and default), then every other page
    hidden from the menu, where a typed or bookmarked address is refused and audited."""
    allowed = set(pages_for(actor.role))
    pages = [st.Page(f"views/{key}.py", title=PAGES[key][0], icon=PAGES[key][1],
                     default=key == "home")
             for key in POLICY_PAGES if key in allowed and (VIEWS / f"{key}.py").is_file()]
    return pages + [_refused(key) for key in POLICY_PAGES
                    if key not in allowed and (VIEWS / f"{key}.py").is_file()]


def sidebar(actor: Actor) -> None:
    """Who is signed in, and the sign-out button (it ends the session in every tab)."""
    with st.sidebar:
        st.text(f"Signed in as {actor.username}\n({ROLE_LABELS.get(actor.role or '', '?')})")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            signin.sign_out(resources.workspace().engine,  # type: ignore[arg-type]
                            browser_session.browser_token(), actor)
            _signed_out("You are signed out.")
            if sso.end():
                st.stop()  # on to the identity provider's sign-out
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
        title = PAGES.get(page, (page,))[0]
        st.error(f"Your role ({ROLE_LABELS.get(actor.role or '', actor.role)}) may not open "
                 f"this page ({title}).", icon=":material/block:")
        st.page_link("views/home.py", label="Go to Home", icon=":material/home:")
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
