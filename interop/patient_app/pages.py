"""The patient app's HTML: plain, accessible, no JavaScript, every text escaped.

WCAG 2.1 AA choices: ``lang`` set; one ``h1``; each question a ``fieldset`` whose
``legend`` is the question's exact wording; every radio button has its ``label`` and the
whole label is the target (at least 48 px high, full width at 375 px); focus is visible;
text contrast ≥ 7:1; errors are listed first (``role="alert"``) with links to the
questions and repeated beside each one (``aria-describedby``); nothing depends on colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from base.proms_settings import PromSettings
from models.clinical.prom_alerts import CRISIS_NOTICE
from models.clinical.prom_instruments import Instrument, Item

CSS = """
*{box-sizing:border-box}
body{margin:0;font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#111;background:#fff}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0}h2{font-size:1.2rem}
fieldset{border:2px solid #555;border-radius:6px;margin:0 0 1.25rem;padding:.75rem}
legend{font-weight:600;padding:0 .25rem}
label.choice{display:flex;align-items:center;gap:.75rem;min-height:48px;padding:.5rem;
margin:.25rem 0;border:1px solid #767676;border-radius:6px;cursor:pointer}
input[type=radio]{width:1.5rem;height:1.5rem;flex:none;margin:0}
button{font:inherit;font-weight:600;min-height:48px;width:100%;padding:.75rem;
border:2px solid #003d7a;border-radius:6px;background:#003d7a;color:#fff;cursor:pointer}
:focus-visible{outline:3px solid #b30000;outline-offset:2px}
.error{color:#a00000;font-weight:600}
.box{border:3px solid #a00000;border-radius:6px;padding:.75rem;margin:1rem 0}
.note{border-left:6px solid #003d7a;padding:.5rem .75rem;background:#eef4fb}
a{color:#003d7a}
small{display:block;color:#333;margin-top:2rem}
"""


def _page(settings: PromSettings, title: str, body: str) -> str:
    clinic = escape(settings.clinic_name)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"referrer\" content=\"no-referrer\">"
            f"<title>{escape(title)} — {clinic}</title>"
            "<link rel=\"stylesheet\" href=\"/static/patient.css\"></head>"
            f"<body><main><p><strong>{clinic}</strong></p>{body}</main></body></html>")


def _crisis_lines(settings: PromSettings) -> str:
    items = [f"<li>{escape(line)}</li>" for line in settings.crisis_lines]
    if settings.clinic_phone:
        number = escape(settings.clinic_phone)
        tel = escape("".join(c for c in settings.clinic_phone if c.isdigit() or c == "+"))
        items.insert(0, f"<li>{escape(settings.clinic_name)}: "
                        f"<a href=\"tel:{tel}\">{number}</a></li>")
    return "<ul>" + "".join(items) + "</ul>"


def _choices(item: Item, name: str, chosen: int | None, described: str) -> str:
    out = []
    for value, label in item.options:
        ident = f"{name}-{value}"
        checked = " checked" if chosen == value else ""
        required = " required" if item.required else ""
        out.append(f"<label class=\"choice\" for=\"{ident}\"><input type=\"radio\" "
                   f"id=\"{ident}\" name=\"{name}\" value=\"{value}\"{checked}{required}"
                   f"{described}> {escape(label)}</label>")
    return "".join(out)


def _hint(instrument: Instrument, item: Item) -> str:
    if instrument.key == "cssrs" and item.key in ("method", "intent", "plan"):
        return "<p>Answer this if you answered YES to question 2.</p>"
    if item.key == "behaviour_3m" or item.key == "difficulty":
        return "<p>You may leave this out if it does not apply.</p>"
    return ""


def form_page(settings: PromSettings, instrument: Instrument, action: str, csrf: str,
              answers: Mapping[str, str] | None = None,
              problems: Mapping[str, str] | None = None) -> str:
    """The questionnaire form (again with ``problems`` listed when answers were refused)."""
    answers, problems = answers or {}, problems or {}
    parts = [f"<h1>{escape(instrument.title)}</h1>"]
    if problems:
        links = "".join(f"<li><a href=\"#q-{escape(k)}\">Question "
                        f"{_number(instrument, k)}: {escape(v)}</a></li>"
                        for k, v in problems.items() if _number(instrument, k))
        parts.append(f"<div class=\"box\" role=\"alert\" tabindex=\"-1\" id=\"errors\">"
                     f"<h2>Please check your answers</h2><ul>{links}</ul></div>")
    parts.append(f"<p>{escape(instrument.preamble)}</p>")
    parts.append(f"<form method=\"post\" action=\"{escape(action)}\" novalidate>"
                 f"<input type=\"hidden\" name=\"csrf\" value=\"{escape(csrf)}\">")
    for number, item in enumerate(instrument.items, start=1):
        name = item.key
        error = problems.get(name)
        described = f" aria-describedby=\"err-{name}\"" if error else ""
        chosen = _int(answers.get(name))
        parts.append(f"<fieldset id=\"q-{name}\"><legend>{number}. {escape(item.text)}"
                     "</legend>" + _hint(instrument, item)
                     + (f"<p class=\"error\" id=\"err-{name}\">{escape(error)}</p>"
                        if error else "")
                     + _choices(item, name, chosen, described) + "</fieldset>")
    parts.append("<button type=\"submit\">Send my answers</button></form>")
    parts.append(f"<p class=\"note\">{escape(CRISIS_NOTICE)}</p>{_crisis_lines(settings)}")
    parts.append(f"<small>{escape(instrument.attribution)}</small>")
    return _page(settings, instrument.title, "".join(parts))


def _number(instrument: Instrument, key: str) -> int | None:
    for n, item in enumerate(instrument.items, start=1):
        if item.key == key:
            return n
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def thanks_page(settings: PromSettings) -> str:
    """After a submission without an urgent answer."""
    body = ("<h1>Thank you. Your answers were sent.</h1>"
            "<p>You can close this page. The link now no longer works.</p>"
            f"<p class=\"note\">{escape(CRISIS_NOTICE)}</p>{_crisis_lines(settings)}")
    return _page(settings, "Answers sent", body)


def crisis_page(settings: PromSettings) -> str:
    """After a submission with an urgent answer: crisis resources first, at once."""
    body = ("<h1>Thank you. Please read this now.</h1>"
            "<div class=\"box\" role=\"alert\"><h2>If you are in crisis, help is available "
            "now</h2>" + _crisis_lines(settings)
            + f"<p><strong>{escape(CRISIS_NOTICE)}</strong></p></div>"
            "<p>Your answers were sent to your clinic, and your clinician will be asked to "
            "contact you. That may not happen today.</p>"
            "<p>The link now no longer works.</p>")
    return _page(settings, "Help is available now", body)


def unavailable_page(settings: PromSettings) -> str:
    """One page for an unknown, used or expired link (no way to tell them apart)."""
    body = ("<h1>This link cannot be used</h1>"
            "<p>It may have expired or already been used. Please contact your clinic if "
            "you expected a questionnaire.</p>"
            f"<p class=\"note\">{escape(CRISIS_NOTICE)}</p>{_crisis_lines(settings)}")
    return _page(settings, "Link cannot be used", body)


def message_page(settings: PromSettings, title: str, text: str) -> str:
    """A short page for refused requests (too many, form expired)."""
    return _page(settings, title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")
