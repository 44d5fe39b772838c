"""Streamlit pieces every page shares: the banner, the patient picker, the model card.

Only plain Streamlit elements with user data passed as data (never as HTML), so names or
notes typed by users cannot inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from base.clock import iso_text
from dashboard.services.access import SignedInWorkspace, with_actor
from dashboard.services.lab.card import card_summary
from dashboard.widgets import resources
from dashboard.widgets.signin import auth
from models.contract.schema import NAME_COLUMN
from records.security.policy import IDENTIFIED

BANNER_TEXT = "Model trained on synthetic data — decision support, not a decision"
PATIENT_KEY = "patient_id"  # the patient shared between pages
PATIENT_PARAM = "patient"  # ?patient=ID in a page's address (deep links)
_LINK_KEY = "{}__linked"  # the linked patient a picker has already applied


# Markdown's active characters, backslash-escaped (CommonMark allows it for any punctuation):
# no emphasis, link, image, heading, list, table, HTML, entity ("&"), LaTeX ("$") or
# Streamlit directive (":red[...]", ":material/...:") survives. Commas and the like stay.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


# GitHub-flavoured Markdown links bare URLs and e-mail addresses after escapes are resolved,
# so backslashes cannot stop it; an invisible zero-width space inside the trigger does.
_AUTOLINK_TRIGGERS = re.compile(r"(?i)(://|www\.|@)")
_ZERO_WIDTH_SPACE = "\u200b"


def plain(text: object) -> str:
    """User text made inert inside Markdown (names and ids typed or imported by users).

    Markdown's active characters are backslash-escaped (no emphasis, link, image, HTML,
    maths or Streamlit directive) and URL/e-mail triggers get a zero-width space (no
    autolink); the text reads exactly as typed.
    """
    unlinked = _AUTOLINK_TRIGGERS.sub(
        lambda m: m.group(1)[0] + _ZERO_WIDTH_SPACE + m.group(1)[1:], str(text))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", unlinked)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """'1 patient', '2,000 patients': a count with the right number of its noun."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def banner(version: str | None) -> None:
    """The warning every page shows, with the model version the numbers come from."""
    suffix = f" · model version {version}" if version else " · no model loaded"
    st.warning(BANNER_TEXT + suffix, icon=":material/science:")


def start_page(page: str, title: str | Mapping[str, str]) -> SignedInWorkspace:
    """Every page's first lines: the role check, the workspace, the banner, the title.

    ``page`` is the view's key (its file name, as in ``records.security.policy``); a role that may
    not open it gets an error and the page stops here (never reachable by URL alone).
    ``title`` may name one title per role (Home does).
    """
    actor = auth.require_page(page)
    ws = with_actor(resources.workspace(), actor)
    banner(ws.version)
    st.title(title if isinstance(title, str) else title[actor.role or ""])
    return ws


def _linked_patient(options: list[str], key: str,
                    reachable: pd.Index | None = None) -> str | None:
    """The ``?patient=`` of the address this page was opened with, the first time."""
    wanted = st.query_params.get(PATIENT_PARAM)
    if not wanted or st.session_state.get(_LINK_KEY.format(key)) == wanted:
        return None
    st.session_state[_LINK_KEY.format(key)] = wanted  # a later pick wins over the link
    if wanted in options or (reachable is not None and wanted in reachable):
        return wanted
    st.warning(f"The link names patient {plain(wanted[:40])}, who is not in this list; "
               "showing another patient.", icon=":material/link_off:")
    return None


def kept_patients(key: str) -> list[str | None]:
    """The patients a picker with ``key`` may keep open off its page: its own earlier
    choice, the one open on another page, and a ``?patient=`` link (any may be None)."""
    return [st.session_state.get(key), st.session_state.get(PATIENT_KEY),
            st.query_params.get(PATIENT_PARAM)]


def patient_picker(cohort: pd.DataFrame, ids: Sequence[str], key: str,
                   label: str = "Patient", reachable: pd.Index | None = None) -> str | None:
    """Pick one of ``ids`` (id — name); remembers the choice across pages.

    A page address with ``?patient=ID`` (a shared link or a bookmark) opens that patient,
    and the address follows the choice, so it can be copied or reloaded. ``reachable``
    (default: ``ids``) are the patients a link or an earlier choice may name: with a paged
    list, ``ids`` is the page and such a patient is offered first even when on another page.
    """
    options = list(ids)
    allowed = pd.Index(options) if reachable is None else reachable
    if not len(allowed):
        return None
    linked = _linked_patient(options, key, allowed)
    current = linked or st.session_state.get(key)
    shared = st.session_state.get(PATIENT_KEY)
    for kept in (current, shared):  # the open patient stays open while paging
        if kept is not None and kept not in options and kept in allowed:
            options.insert(0, kept)
            break
    if not options:
        return None
    if linked is not None:
        st.session_state[key] = linked
    elif st.session_state.get(key) not in options:
        st.session_state[key] = shared if shared in options else options[0]
    names = cohort[NAME_COLUMN]
    chosen = st.selectbox(label, options, key=key,
                          format_func=lambda pid: f"{pid} — {names.get(pid, '')}")
    st.session_state[PATIENT_KEY] = chosen
    if st.query_params.get(PATIENT_PARAM) != chosen:
        st.query_params[PATIENT_PARAM] = chosen
        st.session_state[_LINK_KEY.format(key)] = chosen
    auth.audit_view("patient_view", IDENTIFIED, patient_id=chosen)
    return chosen


def field_errors(messages: Sequence[str]) -> None:
    """Validation messages shown right under the field they are about."""
    for message in messages:  # validation messages quote the user's input
        st.error(plain(message), icon=":material/error:")


def model_card(card: dict, version: str, expanded: bool = False) -> None:
    """The current model card: training data, metrics with CIs, intended use and limits."""
    summary = card_summary(card, version)
    with st.expander(f"Model card · version {summary.version}", expanded=expanded):
        st.markdown(f"**Created:** {iso_text(summary.created)}")
        st.markdown(f"**Trained on:** {plain(summary.training)}")
        st.markdown("**Held-out performance** (95 % bootstrap confidence intervals)")
        st.dataframe(summary.metrics, hide_index=True, width="stretch")
        st.markdown("**Intended use**")
        st.write(summary.intended_use)
        left, right = st.columns(2)
        with left:
            st.markdown("**Out of scope**")
            for item in summary.out_of_scope:
                st.markdown(f"- {plain(item)}")
        with right:
            st.markdown("**Limits**")
            for item in summary.limits:
                st.markdown(f"- {plain(item)}")
