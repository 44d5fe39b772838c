"""Issue 25 (4): paging to the end (or saying it was cut short), .ndjson.gz, OperationOutcome."""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from synthea_like import bulk_export, write_ndjson

from interop.cds_hooks import fetch as cds_fetch
from interop.cds_hooks.cards import PatientData, build_cards, incomplete_notes
from interop.fhir.importer import sources
from interop.fhir.importer.batch import import_fhir
from interop.fhir.importer.parse import FhirImportError
from models.contract import schema

PORT = 8661


class _Pages:
    """A FHIR server on 127.0.0.1 answering a search with ``n`` pages of one Condition."""

    def __init__(self, n: int) -> None:
        self.n, self.base = n, f"http://127.0.0.1:{PORT}/fhir"
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                page = int(self.path.rsplit("page=", 1)[1]) if "page=" in self.path else 1
                body = {"resourceType": "Bundle", "type": "searchset", "entry": [
                    {"resource": {"resourceType": "Condition", "id": f"c{page}"},
                     "search": {"mode": "match"}}]}
                if page < pages.n:
                    body["link"] = [{"relation": "next",
                                     "url": f"{pages.base}/Condition?page={page + 1}"}]
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)

    def __enter__(self) -> _Pages:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _conditions(bundle):
    return [e for e in bundle["entry"] if e.get("search", {}).get("mode") != "outcome"]


def test_paging_follows_every_next_link_within_the_limit(monkeypatch):
    monkeypatch.setattr(cds_fetch, "MAX_PAGES", 20)
    with _Pages(12) as server:
        bundle = cds_fetch.fetch(server.base, "conditions", "p1", None, 5)
    assert len(_conditions(bundle)) == 12  # the old limit of 10 pages lost two
    assert incomplete_notes(bundle, "conditions") == []


def test_a_result_cut_short_is_reported_and_named_on_a_card(monkeypatch):
    monkeypatch.setattr(cds_fetch, "MAX_PAGES", 3)
    with _Pages(5) as server:
        bundle = cds_fetch.fetch(server.base, "conditions", "p1", None, 5)
    assert len(_conditions(bundle)) == 3
    notes = incomplete_notes(bundle, "conditions")
    assert notes and "page limit (3 pages" in notes[0]
    missing = schema.feature_names()
    cards = build_cards(PatientData("p1", {}, missing, incomplete=notes), None,
                        "https://kap.example")
    assert cards[0]["indicator"] == "warning" and "incomplete" in cards[0]["summary"]
    assert "page limit (3 pages" in cards[0]["detail"]


def test_a_prefetch_with_an_unread_next_page_is_incomplete():
    value = {"resourceType": "Bundle", "type": "searchset", "entry": [],
             "link": [{"relation": "next", "url": "https://ehr.example/fhir/x?page=2"}]}
    assert incomplete_notes(value, "conditions") == [
        "conditions: only the first page was sent (the Bundle has a next link)"]


def test_bulk_folders_read_gzipped_ndjson(tmp_path):
    expected = bulk_export(tmp_path)
    for path in tmp_path.glob("*.ndjson"):
        (tmp_path / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    report = import_fhir(tmp_path)
    assert {r.fhir_patient_id for r in report.results} == set(expected)
    p1 = next(r for r in report.results if r.fhir_patient_id == "p1")
    assert p1.patient["hypertension"] == expected["p1"]["hypertension"]


def test_a_gzip_that_inflates_too_far_is_refused(tmp_path, monkeypatch):
    bulk_export(tmp_path)
    path = tmp_path / "Patient.000.ndjson"
    (tmp_path / "Patient.000.ndjson.gz").write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    monkeypatch.setattr(sources, "MAX_UNZIPPED", 100)
    with pytest.raises(FhirImportError, match="inflates beyond"):
        import_fhir(tmp_path)


def test_an_operation_outcome_file_is_a_partial_export_warning(tmp_path):
    bulk_export(tmp_path)
    write_ndjson(tmp_path / "OperationOutcome.000.ndjson", [{
        "resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "exception",
            "diagnostics": "MedicationStatement export failed: timeout"}]}])
    report = import_fhir(tmp_path)
    assert "OperationOutcome" not in report.ignored
    for result in report.results:
        assert any("partial export? the server reports error exception: MedicationStatement "
                   "export failed" in w for w in result.warnings)
    assert any(line.startswith("  warning: OperationOutcome.000.ndjson")
               and "partial export?" in line for line in report.lines())
