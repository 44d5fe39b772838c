"""KAP-CDS clinician workspace: the page router (run with `kapcds dashboard`).

Pages live in ``views/``, not ``pages/``: a ``pages/`` folder beside the entry script makes
Streamlit fall back to its old multipage mode and never run this router.
"""

import streamlit as st

from dashboard import components, resources

st.set_page_config(page_title="KAP-CDS", page_icon=":material/psychology:", layout="wide")
page = st.navigation([
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/candidate_review.py", title="Candidate review", icon=":material/person_search:"),
    st.Page("views/compare.py", title="Compare patients", icon=":material/compare_arrows:"),
    st.Page("views/progress.py", title="Treatment progress", icon=":material/monitoring:"),
    st.Page("views/data_entry.py", title="Data entry", icon=":material/edit_note:"),
    st.Page("views/cohort.py", title="Cohort overview", icon=":material/groups:"),
])
try:
    resources.workspace()  # first start: migrate + seed the store, train a first model
except Exception as error:  # noqa: BLE001 - shown to the user instead of a traceback
    components.banner(None)
    st.error(f"The model or the clinical store could not be prepared: {error}")
    st.stop()
page.run()  # every page starts with components.start_page (banner + title)
