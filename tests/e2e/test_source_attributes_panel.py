"""Issue 28 in a real browser: the "Source attributes" panel sits beside a patient's
predictions on Candidate review, opens to the 31 ONC HTI-1 attributes (values or reasons),
and the CDS Hooks link (``?show=source_attributes``) opens it directly."""

from __future__ import annotations

import re

import pytest
from browsing import open_menu, sign_in, wait_idle
from conftest import PASSWORD, SCREENSHOTS, USER
from playwright.sync_api import Page, expect

from dashboard.widgets.patients.source_attributes import TITLE
from training.governance.hti1 import ATTRIBUTES

pytestmark = pytest.mark.e2e
expect.set_options(timeout=90_000)



def _panel(page: Page):
    return page.get_by_test_id("stExpander").filter(has_text=TITLE)


def test_panel_beside_a_prediction_shows_the_31_attributes(small: Page, server: str):
    page = small
    sign_in(page, server, USER, PASSWORD)
    open_menu(page, "Candidate review")
    page.get_by_label("Search by patient id or name").fill("KAP-00001")
    page.keyboard.press("Enter")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"^KAP-00001 · |· KAP-00001$"))).to_be_visible()
    predictions = page.get_by_text("Predicted outcomes", exact=False).first
    expect(predictions).to_be_visible()
    panel = _panel(page)
    expect(panel).to_have_count(1)
    box_pred, box_panel = predictions.bounding_box(), panel.bounding_box()
    assert box_pred and box_panel and 0 < box_panel["y"] - box_pred["y"] < 900  # beside it
    panel.get_by_text(TITLE).click()
    wait_idle(page)
    for number, (_, title) in enumerate(ATTRIBUTES, start=1):
        expect(panel.get_by_text(f"{number}. {title}", exact=True)).to_have_count(1)
    expect(panel.get_by_text("not available", exact=False).first).to_be_visible()
    panel.get_by_text("1. Name and contact information", exact=False).scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "source_attributes_panel.png"))


def test_the_cds_link_opens_the_panel(small: Page, server: str):
    page = small
    # the link a CDS Hooks card carries (interop.cds_hooks.cards.link_card); signing in
    # keeps the address, so the page opens with the panel expanded
    sign_in(page, f"{server}/candidate_review?patient=KAP-00001&show=source_attributes",
            USER, PASSWORD)
    wait_idle(page, 1000)
    panel = _panel(page)
    expect(panel.get_by_text(f"22. {ATTRIBUTES[21][1]}", exact=True)).to_be_visible()
