"""What one clinician does under load (issue 31 item 3), over Streamlit's websocket
(``benchmarks.ws_client``): the same steps as the browser's ``load_flows``, with the same
form values, each timed from sending its BackMsg until the run that answers it finishes,
and each checked for the text a clinician would look for ("Session N saved.", the
patient's heading, the page range, the dependence caption naming the new dose). A
missing text raises ``Missing``: the caller counts it as an error.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

from benchmarks.load_flows import SESSION_NO, SESSION_NUMBERS
from benchmarks.ws_client import Screen, Session, Shown, value
from dashboard.widgets.components import BANNER_TEXT

SEARCH = "Search by patient id or name"
TIMES = {"Time": "10:30", "Time of dose": "10:40", "Ready to leave": "12:45"}
CAPTION = r"^Thick solid line: this scenario"


class Missing(AssertionError):
    """The run finished but the screen lacks what it should show."""


def expect(screen: Screen, pattern: str, what: str) -> str:
    """The text matching ``pattern``, or ``Missing``."""
    found = screen.find_text(pattern)
    if found is None:
        raise Missing(f"{what} not shown (/{pattern}/)")
    return found


def labelled(screen: Screen, kind: str, prefix: str) -> Shown:
    """The ``kind`` widget whose label is ``prefix`` followed by " (" (units in brackets)."""
    return screen.widget(kind, re.compile(rf"^{re.escape(prefix)} \("))


async def sign_in(session: Session, username: str, password: str) -> float:
    """The sign-in form (open on a fresh connection): seconds until the banner shows."""
    screen = session.screen
    button = screen.widget("button", "Sign in")
    seconds = await session.run([value(screen.widget("text_input", "Username"), username),
                                 value(screen.widget("text_input", "Password"), password),
                                 value(button, True)], fragment_id=button.fragment_id)
    expect(session.screen, re.escape(BANNER_TEXT), "the banner after sign-in")
    return seconds


async def open_page(session: Session, title: str) -> float:
    """A menu entry; seconds until that page's run is done and its heading shows."""
    seconds = await session.run(page=title)
    expect(session.screen, rf"^{re.escape(title)}$", f"the heading {title!r}")
    return seconds


async def enter(session: Session, shown: Shown, given: object) -> float:
    """Type ``given`` into one widget (its fragment reruns, or the page)."""
    return await session.run([value(shown, given)], fragment_id=shown.fragment_id)


async def page_list(session: Session, rng: random.Random) -> float:
    """Candidate review: clear a search, then go to another page of the list; seconds
    until the caption shows that page's range."""
    search = session.screen.widget("text_input", SEARCH)
    if session.current(search):
        await enter(session, search, "")
    caption = expect(session.screen, r"^[\d,]+ of [\d,]+ patients match", "the list caption")
    matched = int(caption.split(" of ")[0].replace(",", ""))
    pages = max(1, -(-matched // 100))
    shown = re.search(r"showing ([\d,]+)–", caption)
    current = (int(shown.group(1).replace(",", "")) - 1) // 100 + 1 if shown else 1
    wanted = rng.choice([p for p in range(1, pages + 1) if p != current] or [current])
    seconds = await enter(session, session.screen.widget("number_input", "Page"), wanted)
    expect(session.screen, rf"showing {(wanted - 1) * 100 + 1:,}–", f"page {wanted}")
    return seconds


async def open_patient(session: Session, patient_id: str) -> float:
    """Candidate review: search one patient; seconds until its heading and its predicted
    outcomes (or what is missing for them) show."""
    seconds = await enter(session, session.screen.widget("text_input", SEARCH), patient_id)
    expect(session.screen, rf"· {re.escape(patient_id)}$", f"the heading of {patient_id}")
    expect(session.screen, r"^\*\*Predicted outcomes\*\*|^Not yet assessable",
           "the predicted outcomes")
    return seconds


async def choose_patient(session: Session, patient_id: str) -> None:
    """Treatment progress: search (while the cohort is being built) and pick the patient."""
    try:
        search = session.screen.widget("text_input", SEARCH)
    except KeyError:
        pass  # the cohort is built: every patient is an option
    else:
        await enter(session, search, patient_id)
    box = session.screen.widget("selectbox", "Patient")
    option = next((o for o in box.proto.options if o.startswith(f"{patient_id} ")), None)
    if option is None:
        raise Missing(f"{patient_id} is not among the Patient options")
    await enter(session, box, option)
    expect(session.screen, rf"· {re.escape(patient_id)}$", f"the heading of {patient_id}")


def session_values(screen: Screen, day: int) -> list:
    """Every required field of "Record a session", as the browser test enters them."""
    states = [value(labelled(screen, "date_input", "Date"),
                    (date.today() - timedelta(days=1)).isoformat())]
    states += [value(labelled(screen, "time_input", label), hhmm)
               for label, hhmm in TIMES.items()]
    states += [value(screen.widget("number_input", label), number)
               for label, number in SESSION_NUMBERS.items()]
    route = screen.widget("selectbox", "Route")
    states.append(value(route, next(o for o in route.proto.options
                                    if o.startswith("intravenous ketamine"))))
    states += [value(screen.widget("radio", label), "no") for label in SESSION_NO]
    try:
        states.append(value(screen.widget("number_input", "Day (days since first session)"),
                            day))
    except KeyError:
        pass  # the first session has no day to enter
    return states


async def record_session(session: Session, patient_id: str, day: int) -> tuple[float, int]:
    """Choose the patient, fill and save the form; seconds from the submit until
    "Session N saved." shows, and N."""
    await choose_patient(session, patient_id)
    next_text = expect(session.screen, r"^(\*\*)?Session \d+ \(next;", "the next session's number")
    number = int(re.search(r"\d+", next_text).group())  # type: ignore[union-attr]
    submit = session.screen.widget("button", "Save session")
    states = [*session_values(session.screen, day), value(submit, True)]
    seconds = await session.run(states, fragment_id=submit.fragment_id)
    expect(session.screen, rf"^Session {number} saved\.$", f"'Session {number} saved.'")
    return seconds, number


async def what_if(session: Session, rng: random.Random) -> float:
    """What-if explorer: another dose within the route's limits; seconds until the
    dependence caption names the new dose."""
    expect(session.screen, CAPTION, "the what-if explorer's caption")
    dose = session.screen.widget("number_input", re.compile(r"^Dose \(mg/kg, "))
    low, high = (float(x) for x in re.search(r"([\d.]+)–([\d.]+)",  # type: ignore[union-attr]
                                             dose.label).groups())
    current = float(session.current(dose))
    steps = [round(low + 0.05 * i, 2) for i in range(int(round((high - low) / 0.05)) + 1)]
    wanted = rng.choice([s for s in steps if abs(s - current) > 1e-9] or steps)
    shown = f"{wanted:.2f}".rstrip("0").rstrip(".")
    seconds = await enter(session, dose, wanted)
    expect(session.screen, rf"{CAPTION} \(dose = {re.escape(shown)} mg/kg\)",
           f"the caption for dose {shown}")
    return seconds
