"""Times shown to people: every stored (UTC) moment in the clinic's zone, with the zone named.

The store keeps aware UTC datetimes; screens, reports and exports for people go through
``clinic_text``/``clinic_label`` so no page shows UTC by accident. Nothing happens at import:
the zone is read from ``base.settings.clinic_timezone`` on each call.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone, tzinfo

from base.settings import clinic_timezone, timezone_name

NOT_RECORDED = "date not recorded"


def zone_label(zone: tzinfo | None = None) -> str:
    """The clinic zone's name, e.g. ``Europe/Berlin``."""
    return timezone_name(zone or clinic_timezone())


def to_clinic(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """An aware datetime in the clinic's zone (a naive one is refused: it has no zone)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which zone it is in")
    return moment.astimezone(zone or clinic_timezone())


def clinic_text(moment: datetime | None, zone: tzinfo | None = None, *,
                with_zone: bool = True, missing: str = NOT_RECORDED) -> str:
    """``2026-11-25 14:05 CET`` (or ``missing`` when there is no moment)."""
    if moment is None or moment != moment:  # None or NaT
        return missing
    local = to_clinic(moment, zone)
    text = f"{local:%Y-%m-%d %H:%M}"
    return f"{text} {local.tzname()}" if with_zone else text


def from_clinic(day: date, at: time, zone: tzinfo | None = None) -> datetime:
    """The aware UTC moment of a date and wall-clock time entered in the clinic's zone."""
    local = datetime.combine(day, at.replace(second=0, microsecond=0),
                             tzinfo=zone or clinic_timezone())
    return local.astimezone(timezone.utc)


def clinic_now(zone: tzinfo | None = None) -> datetime:
    """Now in the clinic's zone, to the minute (what a "now" button puts in a form)."""
    return datetime.now(zone or clinic_timezone()).replace(second=0, microsecond=0)


def iso_text(value: object, zone: tzinfo | None = None, missing: str = "unknown") -> str:
    """A stored ISO 8601 time (UTC if it names no zone) as ``clinic_text``; text that is not
    a time is returned as it is, so nothing is invented from it."""
    if value is None or not str(value).strip():
        return missing
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return clinic_text(moment, zone)
