"""A submission token per rendered form, so a save happens once (issue 23 defect 1).

Each saving form asks ``form_instance(name)`` when it is rendered: a random token (what the
store keeps, ``records.submissions``) and an instance number that goes into the form's
widget keys and its submit button's key. After a successful save ``renew`` makes a new
token and instance, so:

- the form is drawn afresh, empty (its keys are new) and ready for the next record;
- a second click that reaches the server after the save targets a button that no longer
  exists and does nothing; one that arrives before the renewal carries the old token and
  the store answers it with the first record instead of writing again.

The first instance of a form has the plain keys (``base``), later ones ``base~N``. A saving
form must not use ``clear_on_submit``: the browser empties it on the first click, so a second
click that overtakes the first run submits an empty form (renewal clears it instead).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import streamlit as st

STATE_PREFIX = "form_instance:"


@dataclass(frozen=True)
class FormInstance:
    """One rendered form: its stable name, the store's token and the instance number."""

    name: str
    token: str
    number: int = 0

    def key(self, base: str) -> str:
        """A widget or form key of this instance (the first keeps ``base`` as it is)."""
        return base if self.number == 0 else f"{base}~{self.number}"


def form_instance(name: str) -> FormInstance:
    """The current instance of the form ``name`` in this browser session (made if new)."""
    key = STATE_PREFIX + name
    current = st.session_state.get(key)
    if not isinstance(current, FormInstance):
        current = FormInstance(name, secrets.token_hex(16))
        st.session_state[key] = current
    return current


def renew(instance: FormInstance) -> FormInstance:
    """After a save: a new token and instance number (the form is drawn empty again)."""
    current = st.session_state.get(STATE_PREFIX + instance.name)
    number = max(instance.number, current.number if isinstance(current, FormInstance) else 0)
    fresh = FormInstance(instance.name, secrets.token_hex(16), number + 1)
    st.session_state[STATE_PREFIX + instance.name] = fresh
    return fresh
