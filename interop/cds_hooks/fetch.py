"""Fetching what the EHR did not prefetch from its FHIR server (``fhirServer`` +
``fhirAuthorization.access_token``), and finding the patient in the KAP-CDS store.

Only FHIR servers the calling issuer is configured for (or, when none is configured, any
``https`` server) are contacted; paging follows ``next`` links on the same server only,
up to ``MAX_PAGES`` pages, and says when a result was cut short.
Issue 24: URLs with dot segments (``…/fhir/../x``, also percent-encoded), user info, a
query or a fragment are refused before the allow-list check, and redirects are never
followed (urllib would have sent the EHR's bearer token on to another host).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import Engine, String, cast, or_, select

from interop.cds_hooks.cards import PREFETCH
from interop.cds_hooks.settings import Issuer

log = logging.getLogger(__name__)
MAX_BYTES = 10 * 1024 * 1024
MAX_PAGES = 50  # pages per prefetch query; a longer result is reported as cut short


class FetchError(Exception):
    """Data the cards need could not be had from the FHIR server (HTTP 412 to the EHR)."""


def _plain(url: str) -> str:
    """``url`` if it has no dot segment, user info, backslash, encoded slash, or fragment;
    FetchError otherwise (so a prefix check on it means what it says)."""
    parts = urlsplit(url)
    segments = unquote(parts.path).split("/")
    if any(s in (".", "..") for s in segments) or "\\" in unquote(parts.path) \
            or "%2f" in parts.path.lower() or "%5c" in parts.path.lower():
        raise FetchError(f"fhirServer {url[:200]!r} has dot segments or encoded slashes; "
                         "refused")
    if parts.username or parts.password or parts.fragment or not parts.hostname:
        raise FetchError(f"fhirServer {url[:200]!r} is not a plain http(s) URL; refused")
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: the access token must never travel to another URL."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        raise FetchError(f"FHIR server answered {code} redirecting {req.full_url[:200]} to "
                         f"{newurl[:200]}; redirects are not followed (the access token "
                         "goes only to the listed server)")


_OPENER = urllib.request.build_opener(_NoRedirect)


def check_server(fhir_server: str, issuer: Issuer) -> str:
    """``fhir_server`` without a trailing slash, if this issuer may send us there."""
    base = _plain(fhir_server.rstrip("/"))
    if urlsplit(base).query:
        raise FetchError(f"fhirServer {base[:200]!r} has a query; refused")
    if issuer.fhir_servers:
        if not any(base == s or base.startswith(s + "/") for s in issuer.fhir_servers):
            raise FetchError(f"fhirServer {base[:200]!r} is not one configured for issuer "
                             f"{issuer.iss}")
    elif urlsplit(base).scheme != "https":
        raise FetchError(f"fhirServer {base[:200]!r}: only https servers are fetched from "
                         "unless the issuer lists fhir_servers")
    return base


def _get(url: str, token: str | None, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"FHIR server answered {exc.code} for {url[:200]}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FetchError(f"FHIR server unreachable for {url[:200]}: {exc}") from exc
    if len(body) > MAX_BYTES:
        raise FetchError(f"FHIR response larger than {MAX_BYTES} bytes: {url[:200]}")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FetchError(f"FHIR server sent no JSON for {url[:200]}") from exc
    if not isinstance(data, dict):
        raise FetchError(f"FHIR server sent a JSON {type(data).__name__}, not a resource")
    return data


def _next(page: dict[str, Any]) -> str | None:
    return next((str(link.get("url")) for link in page.get("link") or []
                 if isinstance(link, dict) and link.get("relation") == "next"
                 and link.get("url")), None)


def incomplete_outcome(text: str) -> dict[str, Any]:
    """A searchset ``outcome`` entry saying the result was cut short (FHIR's own way)."""
    return {"resource": {"resourceType": "OperationOutcome", "issue": [{
        "severity": "warning", "code": "incomplete", "diagnostics": text}]},
        "search": {"mode": "outcome"}}


def fetch(base: str, key: str, patient_id: str, token: str | None,
          timeout: float) -> dict[str, Any]:
    """One prefetch template run against the server; searchset pages joined into one.

    Every ``next`` link on the same server is followed, up to ``MAX_PAGES`` pages; a
    result cut short (page limit, or a ``next`` link to another server, which is never
    followed) carries an ``incomplete`` OperationOutcome entry that the card names."""
    query = PREFETCH[key].replace("{{context.patientId}}", quote(patient_id, safe=""))
    url = f"{base}/{query}"
    first = _get(url, token, timeout)
    if first.get("resourceType") != "Bundle":
        return first
    entries = list(first.get("entry") or [])
    page, pages = first, 1
    while (nxt := _next(page)) is not None:
        if not nxt.startswith(base + "/"):
            entries.append(incomplete_outcome(
                f"{key}: the server's next page is on another server; not followed, so "
                f"the result is incomplete after {pages} page(s)"))
            break
        if pages >= MAX_PAGES:
            entries.append(incomplete_outcome(
                f"{key}: stopped at the page limit ({MAX_PAGES} pages, "
                f"{sum(1 for e in entries if (e.get('search') or {}).get('mode') != 'outcome')}"
                " entries read); later pages were not read"))
            log.warning("%s for Patient/%s cut short at %d pages", key, patient_id, pages)
            break
        try:
            _plain(str(nxt))
        except FetchError:
            log.warning("not following a next link with dot segments: %s", str(nxt)[:200])
            entries.append(incomplete_outcome(
                f"{key}: the server's next page has dot segments; not followed, so the "
                f"result is incomplete after {pages} page(s)"))
            break
        page = _get(str(nxt), token, timeout)
        pages += 1
        entries += list(page.get("entry") or [])
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _same_patient(source: dict[str, Any], fhir_id: str, origins: set[str],
                  identifiers: set[str]) -> str | None:
    """How a stored import is this EHR patient: a ``system|value`` identifier, or the same
    FHIR id from the same source (the calling FHIR server or issuer); never a bare id."""
    stored_ids = {i for i in source.get("identifiers") or [] if not str(i).startswith("|")}
    if stored_ids & identifiers:
        return "identifier"
    pairs = {*(source.get("fhir_ids") or [])}
    if source.get("fhir_patient_id") and source.get("origin"):
        pairs.add(f"{str(source['origin']).rstrip('/')}|{source['fhir_patient_id']}")
    if {f"{o.rstrip('/')}|{fhir_id}" for o in origins} & pairs:
        return "FHIR id"
    return None


def stored_patient(engine: Engine | None, fhir_id: str, *, origins: tuple[str, ...] = (),
                   identifiers: tuple[str, ...] = ()
                   ) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """The KAP id, the filled-in (non-gap) values and the import source of the stored
    patient this EHR patient is: by identifier, else by (source, FHIR id) with the source
    one of ``origins`` (the request's fhirServer and issuer); the newest such record when
    imported more than once.
    A FHIR id alone matches nothing: two EHRs may use the same id for different people."""
    if engine is None:
        return None
    from records.db import session_factory
    from records.tables.clinical import Patient

    wanted = {i for i in identifiers if not i.startswith("|")}
    # Only rows whose stored JSON text holds the FHIR id or an identifier can match: the
    # store narrows them down (a scan in SQL, not every imported patient loaded as an
    # object per call: issue 31); ``_same_patient`` then decides exactly.
    text = cast(Patient.import_source, String)
    needles = [fhir_id, *(json.dumps(i)[1:-1] for i in sorted(wanted))]
    with session_factory(engine)() as session:
        rows = session.scalars(select(Patient).where(
            Patient.import_source.isnot(None),
            or_(*(text.contains(n, autoescape=True) for n in needles)))
            .order_by(Patient.id.desc()))
        row = next((r for r in rows if _same_patient(r.import_source or {}, fhir_id,
                                                     set(origins), wanted)), None)
        if row is None:
            return None
        gaps = set(row.data_gaps or [])
        return row.patient_id, {k: v for k, v in row.features().items()
                                if k not in gaps and v is not None}, dict(row.import_source or {})


def stored_alerts(engine: Engine | None, kap_id: str | None) -> list[Any]:
    """The session alerts (``models.clinical.session_alerts``) raised at the stored patient's
    latest session: what the Treatment progress page and the cohort list show right now."""
    if engine is None or kap_id is None:
        return []
    from models.clinical.session_alerts import session_alerts
    from records.db import session_factory
    from records.frames import sessions_frame
    from records.repository import get_patient

    with session_factory(engine)() as session:
        patient = get_patient(session, kap_id)
        if patient is None:
            return []
        known = "phq9_baseline" not in (patient.data_gaps or [])  # a placeholder is no baseline
        baseline = float(patient.phq9_baseline) if known and patient.phq9_baseline is not None \
            else float("nan")
        sessions = sessions_frame(session, kap_id, latest_only=True)
    return session_alerts(kap_id, baseline, sessions)
