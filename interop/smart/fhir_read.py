"""The launched patient's record from the EHR's FHIR server, as one Bundle for the importer.

With the launch's access token: ``Patient/{id}``, then a search per resource type the
importer maps (``settings.SEARCHED_TYPES``). Paging follows ``next`` links only on the
same FHIR base, up to ``MAX_PAGES`` per type; a cut-short result, or a type the server
refuses, is named in the notes the clinician sees. Redirects are never followed, so the
token goes nowhere but the allow-listed server.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from interop.smart.discovery import get_json
from interop.smart.settings import MAX_PAGES, SEARCHED_TYPES, SmartError

log = logging.getLogger(__name__)
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _search(fhir_base: str, kind: str, patient: str, headers: dict[str, str],
            timeout: float) -> tuple[list[dict[str, Any]], list[str]]:
    url: str | None = f"{fhir_base}/{kind}?patient={quote(patient, safe='')}&_count=100"
    found: list[dict[str, Any]] = []
    for _page in range(MAX_PAGES):
        try:
            bundle = get_json(str(url), timeout, headers)
        except SmartError as error:
            return found, [f"{kind}: not read ({error})"]
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return found, [f"{kind}: the server sent no search Bundle"]
        found += [e["resource"] for e in bundle.get("entry") or []
                  if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                  and e["resource"].get("resourceType") in (kind, "OperationOutcome")]
        url = next((link.get("url") for link in bundle.get("link") or []
                    if isinstance(link, dict) and link.get("relation") == "next"), None)
        if not url:
            return found, []
        if not str(url).startswith(fhir_base + "/"):
            return found, [f"{kind}: a next page on another server was not followed"]
    return found, [f"{kind}: only the first {MAX_PAGES} pages were read"]


def read_patient(fhir_base: str, patient: str, access_token: str,
                 timeout: float) -> tuple[dict[str, Any], list[str]]:
    """A collection Bundle of the patient and their searched resources, and the notes."""
    if not FHIR_ID.match(patient or ""):
        raise SmartError(f"The EHR launched a patient id KAP-CDS cannot use: {patient[:80]!r}")
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"}
    resource = get_json(f"{fhir_base}/Patient/{patient}", timeout, headers)
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise SmartError(f"The EHR sent no Patient for Patient/{patient}.")
    entries, notes = [resource], []
    for kind in SEARCHED_TYPES:
        found, said = _search(fhir_base, kind, patient, headers, timeout)
        entries += found
        notes += said
    log.info("read Patient/%s and %d resource(s) from %s", patient, len(entries) - 1,
             fhir_base)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"{fhir_base}/{r['resourceType']}/{r.get('id', '')}", "resource": r}
        for r in entries]}
    return bundle, notes
