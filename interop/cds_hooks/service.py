"""The CDS Hooks HTTP service (FastAPI): discovery and the ``patient-view`` hook.

``create_app`` wires the pure mapping (``interop.cds_hooks.cards``) to authentication
(``interop.cds_hooks.auth``), FHIR fetching and the store (``interop.cds_hooks.fetch``), the model
registry and the audit trail: every hook call, accepted or refused, is audited (refused
ones once per issuer and minute, with a count; every 500 too). The caller is authenticated
before the body is read; the body and its JSON nesting are limited
(``interop.cds_hooks.guard``).
``kapcds serve-cds`` runs it with uvicorn. Settings: ``interop.cds_hooks.settings``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from interop.cds_hooks.auth import AuthError, Caller, KeyResolver, ReplayGuard, authenticate
from interop.cds_hooks.cards import (
    FHIR_ID,
    PREFETCH,
    SERVICE_ID,
    Gate,
    ModelInfo,
    PatientData,
    discovery,
    incomplete_notes,
    prefetch_resources,
)
from interop.cds_hooks.feedback import allow_cors, record_issued, store_feedback
from interop.cds_hooks.fetch import (
    FetchError,
    check_server,
    fetch,
    stored_alerts,
    stored_patient,
)
from interop.cds_hooks.guard import (
    BodyTooLarge,
    RefusalLog,
    StoreReplayGuard,
    parse_json,
    read_body,
)
from interop.cds_hooks.orders import SERVICES, hook_cards
from interop.cds_hooks.settings import CdsSettings
from models.clinical.quality_gate import gate_for
from models.contract import schema
from models.contract.doses import complete_doses

log = logging.getLogger(__name__)
WORKERS = 4  # hook calls run at once (each may hold two store connections; the pool has 15)


class BadHookRequest(ValueError):
    """The hook request is malformed (HTTP 400); the message names the field."""


class _Models:
    """The registry's current model set, reloaded when another version is promoted."""

    def __init__(self, registry_dir: Path | None) -> None:
        self._dir, self._lock, self._info = registry_dir, threading.Lock(), None

    def current(self) -> ModelInfo | None:
        if self._dir is None:
            return None
        from models.store.registry import Registry

        registry = Registry(self._dir)
        version = registry.current_version()
        if version is None:
            return None
        with self._lock:
            if self._info is None or self._info.version != version:
                model_set, card = registry.load(version)
                self._info = ModelInfo(model_set, version, card)
            return self._info


def _resources(body: dict[str, Any], caller_issuer: Any, patient_id: str,
               settings: CdsSettings, incomplete: list[str]) -> list[dict[str, Any]]:
    prefetch = body.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise BadHookRequest("prefetch must be a JSON object")
    resources = []
    missing = [key for key in PREFETCH if prefetch.get(key) is None]
    for key in PREFETCH:
        try:
            resources += prefetch_resources(prefetch.get(key), key)
            incomplete += incomplete_notes(prefetch.get(key), key)
        except ValueError as exc:
            raise BadHookRequest(str(exc)) from exc
    if missing:
        server = body.get("fhirServer")
        if not isinstance(server, str) or not server:
            raise FetchError(f"prefetch lacks {', '.join(missing)} and the request names "
                             "no fhirServer to fetch them from")
        base = check_server(server, caller_issuer)
        token = (body.get("fhirAuthorization") or {}).get("access_token")
        for key in missing:
            fetched = fetch(base, key, patient_id, token, settings.fhir_timeout)
            resources += prefetch_resources(fetched, key)
            incomplete += incomplete_notes(fetched, key)
    return resources


def patient_data(resources: list[dict[str, Any]], patient_id: str,
                 engine: Engine | None, issuer: str | None = None,
                 origins: tuple[str, ...] = ()) -> PatientData:
    """The patient's values from the EHR's FHIR data, gaps filled from its KAP-CDS record
    (values a clinician entered or confirmed there); nothing else is filled in."""
    from interop.fhir.importer.batch import import_fhir

    features: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    warnings = 0
    identifiers: tuple[str, ...] = ()
    if resources:
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": r} for r in resources]}
        report = import_fhir(bundle, source=f"CDS Hooks prefetch for Patient/{patient_id}")
        match = [r for r in report.results if r.fhir_patient_id == patient_id]
        if match:
            features, warnings = dict(match[0].patient), len(match[0].warnings)
            extras = match[0].extras
            identifiers = tuple(match[0].identifiers)
    stored = stored_patient(engine, patient_id, origins=origins, identifiers=identifiers)
    kap_id, from_store, shown = None, [], True
    if stored is not None:
        kap_id, values, source = stored
        from_store = [k for k in values if k not in features]
        features.update({k: values[k] for k in from_store})
        # a record imported from a file is not known to be this EHR's patient: its KAP id
        # is not sent back in a card link (issue 24)
        shown = issuer is not None and source.get("issuer") == issuer
    features = complete_doses(features)  # the route's other dose unit: empty, not missing
    names = schema.feature_names()
    observed = {k: v for k, v in (extras.get("observed_at") or {}).items()
                if k in features and k not in from_store}
    return PatientData(patient_id, features, [n for n in names if n not in features], kap_id,
                       from_store, warnings, item9=extras.get("phq9_item9"),
                       item9_at=extras.get("phq9_item9_at"), observed=observed,
                       alerts=stored_alerts(engine, kap_id), kap_id_shown=shown)


def _audit(engine: Engine | None, caller: Caller | None, action: str, category: str,
           **details: Any) -> None:
    if engine is None:
        return
    from records.audit.trail import record_now

    record_now(engine, _actor(caller), action, category, **details)


def _actor(caller: Caller | None) -> Any:
    """Who a CDS call is audited as: the verified issuer, else "cds:unauthenticated"."""
    from records.security.policy import SYSTEM_ROLE, Actor

    who = f"cds:{caller.iss}" if caller else "cds:unauthenticated"
    return Actor(who[:64], SYSTEM_ROLE)


def _hook(body: Any, hook: str = "patient-view") -> str:
    if not isinstance(body, dict):
        raise BadHookRequest("the request body must be a JSON object")
    if body.get("hook") != hook:
        raise BadHookRequest(f"hook must be {hook!r}, not {str(body.get('hook'))[:40]!r}")
    patient_id = (body.get("context") or {}).get("patientId")
    if not isinstance(patient_id, str) or not FHIR_ID.match(patient_id):
        raise BadHookRequest("context.patientId must be a FHIR id ([A-Za-z0-9-.], 1-64)")
    return patient_id


def _issuer_label(authorization: str | None, settings: CdsSettings) -> str:
    """The (unverified) issuer a refused call names if it is a configured one, else
    "unknown issuer" (so made-up issuers cannot multiply the audit entries)."""
    import jwt

    try:
        iss = jwt.decode(str(authorization or "")[7:].strip(),
                         options={"verify_signature": False}).get("iss")
    except Exception:  # noqa: BLE001 - any garbage is simply not a known issuer
        iss = None
    return iss if isinstance(iss, str) and iss in settings.issuers else "unknown issuer"


class _HookCall:
    """One hook's call from token to cards (runs in a worker thread): ``patient-view``,
    or ``order-select`` / ``order-sign`` (issue 26), each at its own URL and audience."""

    def __init__(self, settings: CdsSettings, registry_dir: Path | None,
                 engine: Engine | None, gate: Gate | None, hook: str = "patient-view",
                 service_id: str = SERVICE_ID) -> None:
        self.settings, self.engine, self.gate = settings, engine, gate
        self.hook, self.service_id = hook, service_id
        self.models, self.keys = _Models(registry_dir), KeyResolver()
        self.replay = StoreReplayGuard(engine) if engine is not None else ReplayGuard()
        self.refusals = RefusalLog(self._write_refusal)
        self.audience = f"{settings.base_url}/cds-services/{service_id}"

    def _write_refusal(self, issuer: str, detail: str) -> None:
        from records.security.policy import SECURITY

        _audit(self.engine, None, "cds_refused", SECURITY, outcome="denied",
               detail=detail[:2000])

    def authenticate(self, authorization: str | None) -> Caller | JSONResponse:
        """The verified caller, or the 401 answer (the refusal counted for the audit)."""
        try:
            return authenticate(authorization, self.audience, self.settings, self.keys,
                                self.replay)
        except AuthError as exc:
            self.refusals.refused(_issuer_label(authorization, self.settings), str(exc))
            return JSONResponse({"error": str(exc)}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})

    def failed(self, caller: Caller, status: int, error: str) -> JSONResponse:
        from records.security.policy import IDENTIFIED

        _audit(self.engine, caller, "prediction_view", IDENTIFIED, outcome="failure",
               detail=f"CDS Hooks {self.service_id}: {error}"[:2000])
        return JSONResponse({"error": error[:500]}, status_code=status)

    def __call__(self, caller: Caller, raw: bytes) -> JSONResponse:
        from records.security.policy import SECURITY

        try:
            return self._cards(caller, raw)
        except Exception as exc:  # noqa: BLE001 - every 500 is audited, none leaks a trace
            log.exception("CDS Hooks call failed")
            try:
                _audit(self.engine, caller, "cds_error", SECURITY, outcome="failure",
                       detail=f"CDS Hooks {self.service_id}: internal error "
                              f"{type(exc).__name__}: {exc}"[:2000])
            except Exception:  # noqa: BLE001 - the answer is still a 500
                log.exception("could not audit the failed CDS Hooks call")
            return JSONResponse({"error": "internal error (recorded)"}, status_code=500)

    def _cards(self, caller: Caller, raw: bytes) -> JSONResponse:
        from records.security.policy import IDENTIFIED

        try:
            body = parse_json(raw)
            patient_id = _hook(body, self.hook)
            incomplete: list[str] = []
            resources = _resources(body, self.settings.issuers[caller.iss], patient_id,
                                   self.settings, incomplete)
            origins = tuple(o for o in (body.get("fhirServer"), caller.iss)
                            if isinstance(o, str) and o)  # a FHIR id means nothing alone
            data = patient_data(resources, patient_id, self.engine, caller.iss, origins)
            data.incomplete = incomplete
            model = self.models.current()
            cards = hook_cards(self.hook, body, data, resources, model,
                               self.settings.dashboard_url,
                               self.gate or gate_for(model.card if model else None))
        except (BadHookRequest, FetchError, ValueError) as exc:  # JSONDecodeError included
            return self.failed(caller, 412 if isinstance(exc, FetchError) else 400, str(exc))
        record_issued(self.engine, self.service_id, cards, caller.iss, patient_id, {
            "actor": _actor(caller), "action": "prediction_view", "category": IDENTIFIED,
            "patient_id": data.kap_id,
            "detail": f"CDS Hooks {self.service_id} for FHIR Patient/{patient_id} (hookInstance "
                      f"{str(body.get('hookInstance'))[:64]}): {len(cards)} cards, "
                      f"{len(data.missing)} inputs missing"})
        return JSONResponse({"cards": cards})


def create_app(settings: CdsSettings, *, registry_dir: Path | None, engine: Engine | None,
               gate: Gate | None = None) -> FastAPI:
    """The service; ``engine`` is the store (audit trail and stored patients), ``gate``
    chooses the outcomes shown (default: the current model card's quality gate,
    ``models.clinical.quality_gate``; ``show_every_outcome`` turns it off)."""
    handlers = {service_id: _HookCall(settings, registry_dir, engine, gate, hook, service_id)
                for hook, service_id in SERVICES.items()}
    # At most WORKERS calls hold a worker thread (and store connections) at a time; the
    # others wait in the event loop, holding nothing. Twenty at once used to take up to
    # 40 connections (a call's session and its audit checkpoint's) from a pool of 15 and
    # time out after 30 s (issue 31); more threads than this only share the GIL.
    busy = asyncio.Semaphore(WORKERS)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for handler in [*handlers.values(), *feedback_handlers.values()]:
            handler.refusals.close()  # pending refusal counts into the audit trail

    app = FastAPI(title="KAP-CDS CDS Hooks service", docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    allow_cors(app, settings)

    @app.get("/cds-services")
    def services() -> dict[str, Any]:
        return discovery()

    async def _read(handler: _HookCall, request: Request) -> tuple[Any, Any]:
        async with busy:
            caller = await run_in_threadpool(handler.authenticate,
                                             request.headers.get("authorization"))
        if isinstance(caller, JSONResponse):  # refused before a byte of the body is read
            return caller, None
        try:
            return caller, await read_body(request.stream(),
                                           request.headers.get("content-length"))
        except BodyTooLarge as exc:
            async with busy:
                return await run_in_threadpool(handler.failed, caller, 413, str(exc)), None

    @app.post("/cds-services/{service_id}")
    async def hook_call(service_id: str, request: Request) -> JSONResponse:
        handler = handlers.get(service_id)
        if handler is None:
            return JSONResponse({"error": f"no CDS service {service_id[:64]!r}"}, 404)
        caller, raw = await _read(handler, request)
        if raw is None:
            return caller
        async with busy:
            return await run_in_threadpool(handler, caller, raw)

    feedback_handlers = {sid: _HookCall(settings, registry_dir, engine, gate, hook, sid)
                         for hook, sid in SERVICES.items()}
    for sid, handler in feedback_handlers.items():  # the JWT's audience is the URL called
        handler.audience = f"{settings.base_url}/cds-services/{sid}/feedback"

    @app.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> JSONResponse:
        handler = feedback_handlers.get(service_id)
        if handler is None:
            return JSONResponse({"error": f"no CDS service {service_id[:64]!r}"}, 404)
        caller, raw = await _read(handler, request)
        if raw is None:
            return caller
        async with busy:
            return await run_in_threadpool(store_feedback, engine, service_id, caller.iss,
                                           raw)

    return app
