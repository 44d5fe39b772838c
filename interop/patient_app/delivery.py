"""Getting a questionnaire link to the patient: e-mail, QR code, and the SMS extension point.

E-mail goes through the clinic's own SMTP server (``base.proms_settings.smtp_settings``):
STARTTLS by default, implicit TLS with ``KAPCDS_SMTP_SECURITY=tls``, certificates checked
against the system store; ``none`` is for a local test server only. The message names the
clinic, the questionnaire and when the link expires — no name, no score, nothing else
about the patient. The QR code (``segno``, pure Python) encodes the same link as SVG.

SMS is an extension point, not an implementation: a clinic plugs in its provider by
implementing ``SmsSender`` (docs/proms.md). Without one, ``send_sms`` raises
``NotConfigured`` — nothing pretends a text was sent.
"""

from __future__ import annotations

import io
import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

import segno

from base.clock import clinic_text
from base.proms_settings import PromSettings, SmtpSettings

log = logging.getLogger(__name__)


class NotConfigured(RuntimeError):
    """A delivery channel the clinic has not set up (the message says which settings)."""


class SmsSender(Protocol):
    """What a clinic's SMS provider adapter implements (see docs/proms.md)."""

    def send(self, number: str, text: str) -> str:
        """Send ``text`` to ``number`` (E.164); return the provider's message id."""
        ...


def link_url(settings: PromSettings, token: str) -> str:
    """The address a patient opens."""
    return f"{settings.public_url}/q/{token}"


def qr_svg(url: str) -> str:
    """The link as an SVG QR code (error correction M, with a title for screen readers)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=4,
                                    title="Questionnaire link")
    return out.getvalue().decode("utf-8")


def message_text(settings: PromSettings, title: str, url: str, expires_at: datetime,
                 reminder: bool) -> str:
    """The e-mail body (plain text; the link is the only personal thing in it)."""
    first = ("A reminder: your questionnaire is still waiting."
             if reminder else "Your care team asks you to fill in a short questionnaire.")
    return (f"{first}\n\n{title}\n\nOpen this link on your phone or computer:\n{url}\n\n"
            f"The link works once and until {clinic_text(expires_at)}.\n\n"
            "Your answers are not monitored in real time. If you are in crisis, call or "
            "text " + "; ".join(settings.crisis_lines)
            + (f"; or call {settings.clinic_name} on {settings.clinic_phone}"
               if settings.clinic_phone else "")
            + f".\n\n{settings.clinic_name}\n")


def send_email(smtp: SmtpSettings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message through the clinic's server (raises on any failure)."""
    if not smtp.host or not smtp.sender:
        raise NotConfigured("e-mail is not set up: set KAPCDS_SMTP_HOST and KAPCDS_SMTP_FROM "
                            "(docs/proms.md)")
    if "\n" in to or "\r" in to or "@" not in to:
        raise ValueError(f"{to!r} is not an e-mail address")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, subject
    message.set_content(body)
    context = ssl.create_default_context()
    if smtp.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, context=context,
                                                timeout=30)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=30)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(message)
    log.info("questionnaire e-mail sent through %s:%s", smtp.host, smtp.port)


def send_sms(sender: SmsSender | None, number: str, text: str) -> str:
    """Send through the clinic's SMS adapter; ``NotConfigured`` without one."""
    if sender is None:
        raise NotConfigured("SMS is not set up: no SMS provider adapter is configured "
                            "(an extension point, see docs/proms.md)")
    return sender.send(number, text)
