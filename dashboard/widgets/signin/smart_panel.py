"""The Users page's SMART App Launch settings: which EHRs may launch KAP-CDS, and which EHR
user is which account (issue 26).

An EHR not on this list is refused before any request is made to it; an EHR user
(``fhirUser``) with no mapping here is refused at sign-in. Every change is audited
(``smart_issuer``, ``smart_identity``) and made once per submission (``run_change``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.services.access import SignedInWorkspace, actor_of
from dashboard.widgets.entry.submission import form_instance
from dashboard.widgets.signin.sessions_panel import run_change
from interop.smart.settings import EHR_SCOPES, STANDALONE_SCOPES, smart_settings
from records.db import session_factory
from records.security.smart_accounts import (
    add_issuer,
    list_identities,
    list_issuers,
    map_identity,
    remove_issuer,
    unmap_identity,
)


def _issuer_forms(ws: SignedInWorkspace, issuers: list[str]) -> None:
    actor = actor_of(ws)
    add = form_instance("us_smart_issuer")
    with st.form(add.key("us_smart_issuer")):
        st.markdown("**Allow an EHR**")
        url = st.text_input("EHR FHIR base URL (the launch's iss)", key=add.key("us_smart_iss"),
                            placeholder="https://ehr.example.org/fhir/r4")
        client = st.text_input("Client id the EHR registered KAP-CDS under",
                               key=add.key("us_smart_client"))
        label = st.text_input("Name on the sign-in button", key=add.key("us_smart_label"))
        if st.form_submit_button("Allow EHR"):
            run_change(ws, add, {"issuer": url, "client": client, "label": label},
                       lambda s: add_issuer(s, url, client, actor, label),
                       "EHR allowed for SMART launch.")
    if not issuers:
        return
    drop = form_instance("us_smart_drop")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Allowed EHR", issuers, key=drop.key("us_smart_drop_iss"))
    if right.button("Remove EHR", key=drop.key("us_smart_drop"), icon=":material/delete:"):
        run_change(ws, drop, {"issuer": chosen}, lambda s: remove_issuer(s, chosen, actor),
                   "EHR removed with its user mappings: it can no longer launch KAP-CDS.")


def _identity_forms(ws: SignedInWorkspace, issuers: list[str], usernames: list[str],
                    mapped: list[str]) -> None:
    actor = actor_of(ws)
    add = form_instance("us_smart_map")
    with st.form(add.key("us_smart_map")):
        st.markdown("**Map an EHR user to an account**")
        iss = st.selectbox("EHR", issuers, key=add.key("us_smart_map_iss"))
        who = st.text_input("fhirUser (e.g. Practitioner/123)", key=add.key("us_smart_who"))
        name = st.selectbox("Account", usernames, key=add.key("us_smart_account"))
        if st.form_submit_button("Map user"):
            run_change(ws, add, {"issuer": iss, "fhir_user": who, "user": name},
                       lambda s: map_identity(s, str(iss), who, str(name), actor),
                       "EHR user mapped.")
    if not mapped:
        return
    drop = form_instance("us_smart_unmap")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Mapped EHR user", mapped, key=drop.key("us_smart_unmap_who"))
    if right.button("Remove mapping", key=drop.key("us_smart_unmap"), icon=":material/delete:"):
        iss, who = str(chosen).split(" · ")[:2]
        run_change(ws, drop, {"mapping": chosen}, lambda s: unmap_identity(s, iss, who, actor),
                   "EHR user mapping removed.")


def render(ws: SignedInWorkspace, usernames: list[str]) -> None:
    """The allow-list and the fhirUser mappings, with their forms."""
    st.header("EHR launch (SMART)")
    st.caption(f"Register KAP-CDS with the EHR as a public SMART client with the redirect URI "
               f"`{smart_settings().redirect_uri}` and the scopes `{EHR_SCOPES}` (EHR launch) "
               f"or `{STANDALONE_SCOPES}` (standalone). See docs/ehr-integration.md.")
    with session_factory(ws.engine)() as session:
        issuers, mappings = list_issuers(session), list_identities(session)
    st.dataframe(pd.DataFrame([{"EHR": i.label, "FHIR base (iss)": i.issuer,
                                "client id": i.client_id} for i in issuers],
                              columns=["EHR", "FHIR base (iss)", "client id"]),
                 hide_index=True, width="stretch", key="us_smart_issuers")
    st.dataframe(pd.DataFrame([{"FHIR base (iss)": m.issuer, "fhirUser": m.fhir_user,
                                "account": m.username} for m in mappings],
                              columns=["FHIR base (iss)", "fhirUser", "account"]),
                 hide_index=True, width="stretch", key="us_smart_mappings")
    urls = [i.issuer for i in issuers]
    _issuer_forms(ws, urls)
    if urls:
        _identity_forms(ws, urls, usernames,
                        [f"{m.issuer} · {m.fhir_user} · {m.username}" for m in mappings])
