"""Home says whether urgent alerts reach anyone off the page (HAZ-009)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apptest_helpers import texts
from streamlit.testing.v1 import AppTest


def test_home_says_when_urgent_alerts_reach_nobody_off_the_page(
        open_page: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    """HAZ-009: without an on-call address, Home says the alerts are not pushed anywhere."""
    monkeypatch.delenv("KAPCDS_URGENT_ALERT_EMAIL", raising=False)
    home = open_page("home")
    assert "not e-mailed to anyone" in texts(home.warning)
    monkeypatch.setenv("KAPCDS_URGENT_ALERT_EMAIL", "on-call@lakeside.example")
    home = open_page("home")
    assert "not e-mailed to anyone" not in texts(home.warning)
    assert "not e-mailed to anyone" not in texts(open_page("home", "trainee").warning)
