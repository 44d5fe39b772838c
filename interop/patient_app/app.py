"""The patient questionnaire app (FastAPI): ``GET/POST /q/{token}`` and nothing else.

- An unknown, used or expired link gets the same page and the same status (404).
- Every response: ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer`` (the token
  is in the address), a CSP without scripts, ``X-Frame-Options: DENY``, ``nosniff``.
- Rate limit per client address on every request (429 with ``Retry-After``).
- POST needs the CSRF value of the page's cookie (403 otherwise); answers that fail the
  check come back with the problems and the link stays usable; a stored submission is
  audited by ``records.proms.submissions``, a refused POST is audited as ``prom_refused``.
- An urgent answer (PHQ-9 item 9 > 0, a positive C-SSRS screen) shows the crisis page at
  once; the alert to the clinician is raised in the same transaction as the answers.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from base.proms_settings import PromSettings, prom_settings
from interop.notify.urgent import UrgentAlert, push_urgent
from interop.patient_app import pages
from interop.patient_app.guard import CSRF_COOKIE, RateLimiter, csrf_ok, new_csrf
from models.clinical.prom_instruments import instrument as find_instrument
from models.clinical.prom_scoring import AnswerError
from records.audit import trail
from records.db import session_factory
from records.proms import invitations, submissions
from records.security.policy import IDENTIFIED
from records.tables.clinical import utcnow

log = logging.getLogger(__name__)

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


class _Handlers:
    """The app's request handlers over one store and one set of settings."""

    def __init__(self, engine: Engine, settings: PromSettings) -> None:
        self.settings, self.factory = settings, session_factory(engine)
        self.engine = engine
        self.limiter = RateLimiter(settings.rate_per_minute)
        self.secure = settings.public_url.startswith("https://")

    async def rate_limit(self, request: Request, call_next):  # noqa: ANN001, ANN201
        client = request.client.host if request.client else "?"
        if not self.limiter.allow(client):
            log.warning("patient app: rate limit reached for %s", client)
            page = pages.message_page(self.settings, "Too many requests",
                                      "Please wait a minute and try again.")
            return HTMLResponse(page, 429, headers={**HEADERS, "Retry-After": "60"})
        return await call_next(request)

    def lookup(self, token: str) -> str | None:
        with self.factory() as session:
            found = invitations.usable(session, token)
            return None if found is None else found.instrument

    def refused(self, reason: str) -> None:
        with self.factory() as session:
            trail.record(session, submissions.PATIENT_ACTOR, "prom_refused", IDENTIFIED,
                         outcome="denied", detail=reason)
            session.commit()

    def submit(self, token: str, answers: dict[str, str]) -> submissions.Submitted:
        with self.factory() as session:
            done = submissions.submit(session, token, answers)
        if done.urgent is not None:  # stored and shown; now on-call is told (HAZ-009)
            push_urgent(self.engine, submissions.PATIENT_ACTOR, UrgentAlert(
                done.patient_id, f"patient questionnaire ({done.instrument})",
                done.urgent.reason, utcnow()))
        return done

    async def open_link(self, token: str, request: Request) -> HTMLResponse:
        key = await run_in_threadpool(self.lookup, token)
        if key is None:
            return _html(pages.unavailable_page(self.settings), 404)
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf()
        response = _html(pages.form_page(self.settings, find_instrument(key), f"/q/{token}",
                                         csrf))
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                            secure=self.secure, path="/q/", max_age=3600)
        return response

    async def answer(self, token: str, request: Request) -> HTMLResponse:
        form = await request.form()
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        if not csrf_ok(request.cookies.get(CSRF_COOKIE), fields.pop("csrf", None)):
            await run_in_threadpool(self.refused, "questionnaire form without a matching "
                                    "CSRF value")
            return _html(pages.message_page(
                self.settings, "Please open your link again",
                "This form could not be accepted. Open the link from your message again "
                "and send your answers from there."), 403)
        key = await run_in_threadpool(self.lookup, token)
        if key is None:
            await run_in_threadpool(self.refused, "unknown, used or expired questionnaire "
                                    "link")
            return _html(pages.unavailable_page(self.settings), 404)
        try:
            done = await run_in_threadpool(self.submit, token, fields)
        except AnswerError as error:
            page = pages.form_page(self.settings, find_instrument(key), f"/q/{token}",
                                   request.cookies[CSRF_COOKIE], fields, error.problems)
            return _html(page, 422)
        except submissions.LinkUnavailable:
            await run_in_threadpool(self.refused, "questionnaire link used meanwhile")
            return _html(pages.unavailable_page(self.settings), 404)
        if done.urgent is not None:
            return _html(pages.crisis_page(self.settings))
        return _html(pages.thanks_page(self.settings))


def _css() -> Response:
    return Response(pages.CSS, media_type="text/css",
                    headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})


def _health() -> PlainTextResponse:
    return PlainTextResponse("ok", headers=HEADERS)


def create_app(engine: Engine, settings: PromSettings | None = None) -> FastAPI:
    """The patient app over this store."""
    handlers = _Handlers(engine, settings or prom_settings())
    app = FastAPI(title="KAP-CDS questionnaires", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.middleware("http")(handlers.rate_limit)
    app.get("/static/patient.css")(_css)
    app.get("/healthz")(_health)
    app.get("/q/{token}")(handlers.open_link)
    app.post("/q/{token}")(handlers.answer)
    return app
