"""When a patient's questionnaires are due, and which were answered (pure; no store).

Three occasions, each switchable per patient (clinic defaults in ``DEFAULT_SCHEDULE``):

- **before each dosing session**: between one induction session and the next; the window
  opens the day after a session and closes on the day of the next. Only recorded sessions
  are known, so the next one's window stays open ("due") until it is recorded.
- **weekly during induction**: every 7 days from the first induction session while the
  series runs (± ``WINDOW_DAYS``).
- **follow-up**: at the weeks after the last induction session the durability view uses
  (weekly visits up to ``FOLLOWUP_WEEKS``), once the series has ended (planned sessions
  reached or stopped), ± ``WINDOW_DAYS``.

An occasion is *completed* when a submission of that instrument was answered inside its
window, *due* while the window is open, *overdue* once it has closed unanswered, and
*upcoming* before it opens. Nothing here invents a date: without a recorded session date
the occasions that depend on it are not listed (and ``missing`` says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from models.contract.followup_schema import FOLLOWUP_WEEKS

WINDOW_DAYS = 3
STATUSES = ("completed", "due", "overdue", "upcoming")


@dataclass(frozen=True)
class Schedule:
    """Which questionnaires a patient gets, and when (a clinic default or the patient's)."""

    instruments: tuple[str, ...] = ("phq9", "gad7", "cssrs")
    before_sessions: bool = True
    weekly_induction: bool = True
    followup_weeks: tuple[int, ...] = tuple(range(1, FOLLOWUP_WEEKS + 1))


DEFAULT_SCHEDULE = Schedule()


@dataclass(frozen=True)
class Occasion:
    """One questionnaire at one occasion and where it stands."""

    instrument: str
    label: str
    opens: date
    closes: date | None  # None: open until the next session is recorded
    status: str
    answered_on: date | None = None


@dataclass(frozen=True)
class Plan:
    """What the schedule reads about the series: induction session dates in order."""

    session_dates: Sequence[date | None]
    planned_sessions: int | None
    stopped: bool = False
    missing: list[str] = field(default_factory=list)


def _status(opens: date, closes: date | None, today: date, answered: date | None) -> str:
    if answered is not None:
        return "completed"
    if today < opens:
        return "upcoming"
    if closes is None or today <= closes:
        return "due"
    return "overdue"


def _windows(schedule: Schedule, plan: Plan, today: date) -> list[tuple[str, date, date | None]]:
    dates = list(plan.session_dates)
    if not dates or any(d is None for d in dates):
        plan.missing.append("an induction session without a recorded date: occasions "
                            "that depend on session dates are not listed")
        return []
    ended = plan.stopped or (plan.planned_sessions is not None
                             and len(dates) >= plan.planned_sessions)
    out: list[tuple[str, date, date | None]] = []
    if schedule.before_sessions:
        for n in range(1, len(dates)):
            out.append((f"before session {n + 1}", dates[n - 1] + timedelta(days=1), dates[n]))
        if not ended:
            out.append((f"before session {len(dates) + 1}",
                        dates[-1] + timedelta(days=1), None))
    if schedule.weekly_induction:
        last = dates[-1] if ended else today + timedelta(days=7)
        week = 1
        while dates[0] + timedelta(days=7 * week) <= last:
            due = dates[0] + timedelta(days=7 * week)
            out.append((f"induction week {week}", due - timedelta(days=WINDOW_DAYS),
                        due + timedelta(days=WINDOW_DAYS)))
            week += 1
    if ended:
        for week in schedule.followup_weeks:
            due = dates[-1] + timedelta(days=7 * week)
            out.append((f"follow-up week {week}", due - timedelta(days=WINDOW_DAYS),
                        due + timedelta(days=WINDOW_DAYS)))
    return out


def occasions(schedule: Schedule, plan: Plan, answered: Sequence[tuple[str, date]],
              today: date) -> list[Occasion]:
    """Every occasion of every scheduled instrument, oldest first, with its status.

    ``answered`` holds (instrument, day answered) of the patient's submissions; each
    submission completes at most one occasion (the earliest open one it falls in).
    """
    used: set[int] = set()
    out: list[Occasion] = []
    for label, opens, closes in sorted(_windows(schedule, plan, today), key=lambda w: w[1]):
        for key in schedule.instruments:
            hit = next((i for i, (k, day) in enumerate(answered) if i not in used
                        and k == key and opens <= day and (closes is None or day <= closes)),
                       None)
            day = None
            if hit is not None:
                used.add(hit)
                day = answered[hit][1]
            out.append(Occasion(key, label, opens, closes, _status(opens, closes, today, day),
                                day))
    return out


def completion_rate(items: Sequence[Occasion]) -> tuple[int, int]:
    """(completed, closed or completed) — the rate's numerator and denominator; occasions
    still open or upcoming are not counted against anyone."""
    done = sum(o.status == "completed" for o in items)
    return done, done + sum(o.status == "overdue" for o in items)
