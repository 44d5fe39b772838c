"""What one clinician does in the browser under load (issue 31 item 3), in Playwright's
async API so that one Chromium drives many signed-in sessions (one context each) at once.

Each interaction is timed from the action (Enter, click) until the page *shows* its
result (the patient's heading, the new page range, "Session N saved.", the what-if
caption with the new dose), not until the click returns. Typing the values of a form is
not timed: that is the clinician, not the server. The load test and its short browser
test (tests/e2e) share these steps so both exercise the same paths.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from playwright.async_api import Locator, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from dashboard.widgets.components import BANNER_TEXT

TIMEOUT_MS = 90_000  # an interaction slower than this counts as an error (a timeout)
SESSION_NUMBERS = {"Dose (mg/kg)": "0.5", "PHQ-9 (points)": "11", "PHQ-9 item 9 (points)": "0",
                   "GAD-7 (points)": "8", "C-SSRS ideation (points)": "0",
                   "Systolic BP before (mmHg)": "124", "Diastolic BP before (mmHg)": "80",
                   "Heart rate before (beats/min)": "70", "Systolic BP ~40 min (mmHg)": "134",
                   "Diastolic BP ~40 min (mmHg)": "84", "Heart rate ~40 min (beats/min)": "76",
                   "CADSS (points)": "6", "Systolic BP before discharge (mmHg)": "126",
                   "Diastolic BP before discharge (mmHg)": "80",
                   "Lowest SpO2 (pulse oximetry) (%)": "97",
                   "Sedation (MOAA/S) at ~40 min (points)": "5",
                   "Sedation (MOAA/S) before discharge (points)": "5"}
SESSION_NO = ("Nausea", "Vomiting", "Headache", "Dizziness", "Sedation",
              "Series stopped after this session", "Dissociation still present at discharge",
              "Respiratory depression", "Serious adverse event",
              "Benzodiazepine at this session", "Non-benzodiazepine hypnotic at this session",
              "Psychostimulant at this session", "MAOI at this session")


@dataclass
class Tally:
    """One client's timings per interaction, its errors and the sessions it saw saved."""

    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    saved: list[tuple[str, int]] = field(default_factory=list)  # (patient id, session no.)

    def add(self, kind: str, seconds: float) -> None:
        self.times.setdefault(kind, []).append(seconds)


async def wait_idle(page: Page, settle_ms: int = 300) -> None:
    """Until Streamlit has finished the current run (its status widget is gone)."""
    await page.wait_for_timeout(settle_ms)
    await expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=TIMEOUT_MS)


async def shown_exceptions(page: Page) -> int:
    """Streamlit's red exception boxes on the page (an uncaught error in a script run)."""
    return await page.get_by_test_id("stException").count()


async def sign_in(page: Page, url: str, username: str, password: str) -> None:
    """A fresh context starts signed out: the password form, then the banner."""
    await page.goto(url)
    await page.get_by_role("textbox", name="Username").fill(username)
    await page.get_by_role("textbox", name="Password").fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_text(BANNER_TEXT).first).to_be_visible(timeout=TIMEOUT_MS)
    await wait_idle(page)


async def open_menu(page: Page, title: str) -> None:
    """The sidebar entry ``title``; returns once its heading shows and the run is done."""
    nav = page.get_by_test_id("stSidebarNav")
    await nav.get_by_role("link", name=title, exact=True).click()
    await expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=TIMEOUT_MS)
    await wait_idle(page)


async def _pick(page: Page, box: Locator, typed: str, option: re.Pattern[str] | str) -> None:
    """Open a selectbox, type to filter, take the option (again if a rerun closed it)."""
    wanted = page.get_by_role("option", name=option, exact=isinstance(option, str)).first
    for attempt in range(5):
        await box.click()
        if typed:
            await page.keyboard.type(typed)
        try:
            await wanted.click(timeout=15_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 4:
                raise
            await page.keyboard.press("Escape")
            await wait_idle(page, 1000)


async def page_list(page: Page, rng: random.Random) -> float:
    """Candidate review: clear the search, go to another page of the list; seconds until
    the caption shows that page's range."""
    search = page.get_by_label("Search by patient id or name")
    if await search.input_value():
        await search.fill("")
        await search.press("Enter")
        await wait_idle(page, 800)
    caption = page.get_by_text(re.compile(r"^[\d,]+ of [\d,]+ patients match"))
    matched = re.match(r"^([\d,]+) of", await caption.first.inner_text())
    pages = max(1, -(-int(matched.group(1).replace(",", "")) // 100)) if matched else 1
    number = page.get_by_label("Page", exact=True)
    current = int(await number.input_value() or 1)
    wanted = rng.choice([p for p in range(1, pages + 1) if p != current] or [current])
    start = (wanted - 1) * 100 + 1
    await number.fill(str(wanted))
    started = time.perf_counter()
    await number.press("Enter")
    await expect(page.get_by_text(re.compile(rf"showing {start:,}–"))).to_be_visible(
        timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - started
    await wait_idle(page)
    return seconds


async def open_patient(page: Page, patient_id: str) -> float:
    """Candidate review: search one patient; seconds until its heading and its predicted
    outcomes (or what is missing for them) show."""
    search = page.get_by_label("Search by patient id or name")
    await search.fill(patient_id)
    started = time.perf_counter()
    await search.press("Enter")
    heading = page.get_by_role("heading", name=re.compile(rf"· {re.escape(patient_id)}$"))
    await expect(heading).to_be_visible(timeout=TIMEOUT_MS)
    shown = page.get_by_text("Predicted outcomes", exact=True).or_(
        page.get_by_text(re.compile(r"^Not yet assessable")))
    await expect(shown.first).to_be_visible(timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - started
    await wait_idle(page)
    return seconds


async def _type_moment(page: Page, form: Locator, kind: str, label: str, value: str) -> None:
    box = form.get_by_test_id(kind).filter(has=page.get_by_text(
        re.compile(rf"^{re.escape(label)} \("), exact=True))
    if kind == "stTimeInput":
        hour, minute = value.split(":")
        for part, digits in (("hour", hour), ("minute", minute)):
            await box.locator(f"[role=spinbutton][data-type={part}]").focus()
            await page.keyboard.type(digits)
        await page.keyboard.press("Tab")
        return
    field_ = box.locator("input")
    await field_.fill(value)
    await field_.press("Enter")
    await field_.press("Escape")


async def _fill_session(page: Page, form: Locator, day: int) -> None:
    """Every required field of "Record a session", as the e2e form helpers enter them."""
    when = (date.today() - timedelta(days=1)).isoformat()
    await _type_moment(page, form, "stDateInput", "Date", when)
    await _type_moment(page, form, "stTimeInput", "Time", "10:30")
    await _type_moment(page, form, "stTimeInput", "Time of dose", "10:40")
    await _type_moment(page, form, "stTimeInput", "Ready to leave", "12:45")
    for label, value in SESSION_NUMBERS.items():
        await form.get_by_label(label, exact=True).fill(value)
    route = form.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Route", exact=True))
    await _pick(page, route, "", "intravenous ketamine")
    for label in SESSION_NO:
        await form.get_by_role("radiogroup", name=label).get_by_text("no", exact=True).click()
    day_box = form.get_by_label("Day (days since first session)", exact=True)
    if await day_box.count():
        await day_box.fill(str(day))


async def prepare_session(page: Page, patient_id: str, day: int) -> int:
    """Treatment progress: choose the patient and enter every field of "Record a
    session" (not timed: the clinician's typing); returns the session's number."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Patient", exact=True))
    await _pick(page, box.first, patient_id, re.compile(f"^{re.escape(patient_id)} "))
    heading = page.get_by_role("heading", name=re.compile(rf"· {re.escape(patient_id)}$"))
    await expect(heading).to_be_visible(timeout=TIMEOUT_MS)
    await wait_idle(page, 1000)
    number_text = page.get_by_text(re.compile(r"^Session \d+ \(next;"))
    number = int(re.search(r"\d+", await number_text.first.inner_text()).group())  # type: ignore
    form = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Save session"))
    await _fill_session(page, form, day)
    return number


async def save_session(page: Page, number: int) -> float:
    """Press "Save session"; seconds until "Session N saved." shows."""
    started = time.perf_counter()
    await page.get_by_role("button", name="Save session").click()
    await expect(page.get_by_text(f"Session {number} saved.")).to_be_visible(timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - started
    await wait_idle(page)
    return seconds


async def record_session(page: Page, patient_id: str, day: int) -> tuple[float, int]:
    """Enter and save a session; seconds from the click until it says saved, and N."""
    number = await prepare_session(page, patient_id, day)
    return await save_session(page, number), number


async def what_if(page: Page, rng: random.Random) -> float:
    """What-if explorer: enter another dose within the route's limits; seconds until the
    dependence caption names the new dose (predictions, explanation and curve redrawn)."""
    await expect(page.get_by_text(re.compile(r"^Thick solid line: this scenario"))) \
        .to_be_visible(timeout=TIMEOUT_MS)  # the explorer is drawn: its inputs are current
    dose = page.get_by_label(re.compile(r"^Dose \(mg/kg"))
    label = await dose.get_attribute("aria-label") or ""
    low, high = (float(x) for x in re.search(r"([\d.]+)–([\d.]+)", label).groups())  # type: ignore
    current = float(await dose.input_value() or 0)
    steps = [round(low + 0.05 * i, 2) for i in range(int(round((high - low) / 0.05)) + 1)]
    value = rng.choice([s for s in steps if abs(s - current) > 1e-9] or steps)
    shown = f"{value:.2f}".rstrip("0").rstrip(".")
    await dose.fill(f"{value:.2f}")
    started = time.perf_counter()
    await dose.press("Enter")
    await expect(page.get_by_text(re.compile(
        rf"^Thick solid line: this scenario \(dose = {re.escape(shown)} mg/kg\)"))).to_be_visible(
        timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - started
    await wait_idle(page)
    return seconds
