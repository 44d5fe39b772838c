"""KAP-CDS clinician workspace: the page router (run with `kapcds dashboard`).

Pages live in ``views/``, not ``pages/``: a ``pages/`` folder beside the entry script makes
Streamlit fall back to its old multipage mode and never run this router.

Signed out, every address shows the sign-in form (so a link opens its page after sign-in);
signed in, the menu holds only the pages the user's role may open (``records.security.policy``),
any other page's address says the role may not open it, and each page checks again itself.
"""

from pathlib import Path

import streamlit as st

from base.settings import home_dir
from dashboard.widgets import components, resources
from dashboard.widgets.signin import auth, browser_session, smart
from records.errors import storage_problem

# A local icon: a Material-symbol icon is fetched from a font CDN (fails offline, console errors).
ICON = Path(__file__).parent / "static" / "favicon.png"
st.set_page_config(page_title="KAP-CDS", page_icon=str(ICON), layout="wide")
# WCAG 2.4.7: Streamlit draws no focus ring on its menu links and some controls, so a
# keyboard user cannot see where they are (found by the keyboard walk-through, issue 30).
# Constant CSS only (tests/security/test_no_unsafe_html.py), only for keyboard focus.
st.html("<style>a:focus-visible, button:focus-visible, [role='tab']:focus-visible, "
        "[role='option']:focus-visible, summary:focus-visible {outline: 3px solid #0072B2 "
        "!important; outline-offset: 2px !important;}</style>")
try:
    resources.workspace()  # first start: migrate + seed the store, train a first model
except Exception as error:  # noqa: BLE001 - shown to the user instead of a traceback
    components.banner(None)
    st.error(components.plain(storage_problem(error, home_dir()) or "The model or the "
                              f"clinical store could not be prepared: {error}"))
    st.stop()
smart.intercept(resources.workspace().engine)  # an EHR launch (SMART) or its callback
user = auth.current_user()
if user is None:
    page = st.navigation(auth.signed_out_pages(smart.sign_in_options))
else:
    auth.sidebar(user)
    auth.idle_watch()  # clears the screen after the idle time-out, without a click
    page = st.navigation(auth.navigation_pages(user))
    smart.land(user)  # just launched from the EHR: on to Candidate review
browser_session.sync_cookie()  # the session token cookie: written, refreshed or deleted
try:
    page.run()  # every page starts with components.start_page (role check, banner, title)
except Exception as error:  # a read-only or full data folder: one clear line (issue 24)
    problem = storage_problem(error, home_dir())
    if problem is None:
        raise
    st.error(components.plain(problem), icon=":material/error:")
