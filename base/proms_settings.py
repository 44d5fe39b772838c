"""Settings of the patient questionnaires (PROMs), read from the environment when called.

| variable | default | meaning |
|---|---|---|
| ``KAPCDS_CLINIC_NAME`` | ``Your clinic`` | the only thing the patient page says of who asks |
| ``KAPCDS_CLINIC_PHONE`` | *(none)* | the clinic's number on the crisis notice |
| ``KAPCDS_CRISIS_LINES`` | ``988 Suicide & Crisis Lifeline…`` | crisis lines, ``;``-separated |
| ``KAPCDS_PROMS_LINK_DAYS`` | ``7`` | days a questionnaire link stays valid |
| ``KAPCDS_PROMS_REMIND_HOURS`` | ``24`` | hours between reminders |
| ``KAPCDS_PROMS_MAX_REMINDERS`` | ``3`` | reminders per link (then it just expires) |
| ``KAPCDS_PROMS_PUBLIC_URL`` | ``http://127.0.0.1:8780`` | how patients reach the patient app |
| ``KAPCDS_PROMS_HOST`` / ``_PORT`` | ``127.0.0.1`` / ``8780`` | where serve-proms listens |
| ``KAPCDS_PROMS_RATE`` | ``20`` | requests per minute per client address on the patient app |
| ``KAPCDS_SMTP_HOST`` / ``_PORT`` | *(none)* / ``587`` | the clinic's mail server |
| ``KAPCDS_SMTP_USER`` / ``_PASSWORD`` | *(none)* | sign-in at the mail server |
| ``KAPCDS_SMTP_SECURITY`` | ``starttls`` | ``starttls``, ``tls`` or ``none`` (local tests only) |
| ``KAPCDS_SMTP_FROM`` | *(none)* | the sender address |
| ``KAPCDS_URGENT_ALERT_EMAIL`` | *(none)* | on-call address(es), ``,``-separated (HAZ-009) |

The 7-day link lifetime is a documented choice (*unsourced*; products in this space use
3–7 days with daily reminders), not a standard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_CRISIS_LINES = ("988 Suicide & Crisis Lifeline: call or text 988",
                        "Emergency: call 911 or go to the nearest emergency department")


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True)
class PromSettings:
    """What the patient app and the delivery of links need."""

    clinic_name: str
    clinic_phone: str | None
    crisis_lines: tuple[str, ...]
    link_days: int
    remind_hours: int
    max_reminders: int
    public_url: str
    host: str
    port: int
    rate_per_minute: int


@dataclass(frozen=True)
class SmtpSettings:
    """The clinic's SMTP server (``host`` None: e-mail is not configured)."""

    host: str | None
    port: int
    user: str | None
    password: str | None
    security: str
    sender: str | None


def prom_settings() -> PromSettings:
    """The PROM settings now (ValueError names a bad variable)."""
    lines = tuple(p.strip() for p in os.environ.get("KAPCDS_CRISIS_LINES", "").split(";")
                  if p.strip()) or DEFAULT_CRISIS_LINES
    return PromSettings(
        clinic_name=os.environ.get("KAPCDS_CLINIC_NAME", "").strip() or "Your clinic",
        clinic_phone=os.environ.get("KAPCDS_CLINIC_PHONE", "").strip() or None,
        crisis_lines=lines,
        link_days=_int("KAPCDS_PROMS_LINK_DAYS", 7, 1, 30),
        remind_hours=_int("KAPCDS_PROMS_REMIND_HOURS", 24, 1, 24 * 14),
        max_reminders=_int("KAPCDS_PROMS_MAX_REMINDERS", 3, 0, 10),
        public_url=(os.environ.get("KAPCDS_PROMS_PUBLIC_URL", "").strip()
                    or "http://127.0.0.1:8780").rstrip("/"),
        host=os.environ.get("KAPCDS_PROMS_HOST", "").strip() or "127.0.0.1",
        port=_int("KAPCDS_PROMS_PORT", 8780, 1, 65535),
        rate_per_minute=_int("KAPCDS_PROMS_RATE", 20, 1, 10_000))


def smtp_settings() -> SmtpSettings:
    """The SMTP settings now (ValueError names a bad variable)."""
    security = os.environ.get("KAPCDS_SMTP_SECURITY", "").strip().lower() or "starttls"
    if security not in SECURITY_MODES:
        raise ValueError(f"KAPCDS_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, "
                         f"not {security!r}")
    return SmtpSettings(
        host=os.environ.get("KAPCDS_SMTP_HOST", "").strip() or None,
        port=_int("KAPCDS_SMTP_PORT", 465 if security == "tls" else 587, 1, 65535),
        user=os.environ.get("KAPCDS_SMTP_USER", "").strip() or None,
        password=os.environ.get("KAPCDS_SMTP_PASSWORD") or None,
        security=security,
        sender=os.environ.get("KAPCDS_SMTP_FROM", "").strip() or None)


def urgent_alert_recipients() -> list[str]:
    """The on-call addresses urgent alerts are e-mailed to (ValueError names a bad one)."""
    raw = os.environ.get("KAPCDS_URGENT_ALERT_EMAIL", "")
    addresses = [a.strip() for a in raw.split(",") if a.strip()]
    for address in addresses:
        local, _, domain = address.partition("@")
        if not local or "." not in domain or any(c.isspace() for c in address):
            raise ValueError(f"KAPCDS_URGENT_ALERT_EMAIL: {address!r} is not an e-mail address")
    return addresses
