"""Latency of the CDS Hooks calls, end to end over HTTP (not a test).

Starts ``kapcds serve-cds`` on 127.0.0.1 with a throwaway data folder (first model trained
from data_samples/, store seeded), stores one FHIR-imported patient whose gaps a clinician
filled, then sends ``--calls`` requests with prefetch per hook (``patient-view`` and
``order-sign`` with a draft IV ketamine order), each with its own signed ES384 JWT, from
``--concurrency`` clients at once (each sends its next request when the last is answered;
the tokens are signed before the clock starts, so the client's signing is not timed), and
prints p50 / p95 / p99 / max in milliseconds and the load average.
``python -m benchmarks.cds_latency [--calls 200] [--concurrency 20] [--hooks patient-view]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("benchmarks.cds_latency")
ISS = "https://ehr.bench.example"
PASSWORD = "benchmark-admin-password-1"


def _fhir(pid: str) -> list[dict[str, Any]]:
    loinc, subject = "http://loinc.org", {"reference": f"Patient/{pid}"}

    def obs(oid: str, code: str, value: float, unit: str) -> dict[str, Any]:
        return {"resourceType": "Observation", "id": oid, "status": "final",
                "code": {"coding": [{"system": loinc, "code": code}]}, "subject": subject,
                "effectiveDateTime": time.strftime("%Y-%m-%d"),
                "valueQuantity": {"value": value, "unit": unit,
                                  "system": "http://unitsofmeasure.org", "code": unit}}
    return [{"resourceType": "Patient", "id": pid, "gender": "female",
             "birthDate": "1980-03-15", "name": [{"family": "Bench", "given": ["Pat"]}]},
            obs("phq", "44261-6", 19, "{score}"), obs("gad", "70274-6", 12, "{score}"),
            obs("hr", "8867-4", 74, "/min"), obs("bmi", "39156-5", 27.0, "kg/m2"),
            {"resourceType": "Condition", "id": "trd", "subject": subject,
             "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1153570009"}]},
             "clinicalStatus": {"coding": [{"code": "active"}]}}]


def _prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    def search(rtype: str) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r} for r in resources if r["resourceType"] == rtype]}
    return {"patient": resources[0], "observations": search("Observation"),
            "conditions": search("Condition"), "medications": search("MedicationRequest"),
            "questionnaires": search("QuestionnaireResponse")}


def _prepare(home: Path, pid: str) -> None:
    from interop.fhir.importer.batch import import_fhir
    from interop.fhir.importer.store import import_into_store
    from records.db import session_factory
    from records.first_run import ensure_store
    from records.repository import get_patient
    from training.lifecycle.first_run import ensure_model

    ensure_model(home / "registry")
    engine = ensure_store()
    with session_factory(engine)() as session:
        sample = get_patient(session, "KAP-00001").features()
        (result,) = import_fhir({"resourceType": "Bundle", "type": "collection",
                                 "entry": [{"resource": r} for r in _fhir(pid)]}).results
        import_into_store(session, result, completions={k: sample[k] for k in result.missing})
    engine.dispose()


def _wait(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/cds-services", timeout=2).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"serve-cds exited with {proc.returncode}") from None
            time.sleep(0.3)
    raise RuntimeError("serve-cds did not start in 120 s")


RXNORM, SNOMED = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://snomed.info/sct"
SERVICE = {"patient-view": "kapcds-patient-view", "order-sign": "kapcds-order-sign"}


def _body(hook: str, pid: str) -> bytes:
    """A hook request with every prefetch key; order-sign carries a draft IV ketamine order."""
    context: dict[str, Any] = {"patientId": pid, "userId": "Practitioner/1"}
    if hook != "patient-view":
        order = {"resourceType": "MedicationRequest", "id": "mr-ket", "status": "draft",
                 "intent": "order", "subject": {"reference": f"Patient/{pid}"},
                 "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6130",
                                                           "display": "ketamine"}]},
                 "dosageInstruction": [{
                     "route": {"coding": [{"system": SNOMED, "code": "47625008"}]},
                     "doseAndRate": [{"doseQuantity": {"value": 0.5, "unit": "mg/kg",
                                                       "code": "mg/kg"}}]}]}
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": order}]}
    return json.dumps({"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
                       "prefetch": _prefetch(_fhir(pid))}).encode()


def _tokens(url: str, key: Any, n: int) -> list[str]:
    import jwt

    now = int(time.time())
    return [jwt.encode({"iss": ISS, "sub": "bench", "aud": url, "iat": now, "exp": now + 300,
                        "jti": str(uuid.uuid4())}, key, algorithm="ES384",
                       headers={"kid": "k1"}) for _ in range(n)]


def _one(url: str, body: bytes, token: str) -> float:
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        cards = json.loads(response.read())["cards"]
    elapsed = (time.perf_counter() - start) * 1000
    if not cards:
        raise RuntimeError("no card")
    return elapsed


def _measure(urls: list[str], key: Any, body: bytes, calls: int,
             concurrency: int = 1) -> list[float]:
    """Every call's latency (ms): ``concurrency`` clients, each sending its next request
    when its last is answered, until ``calls`` are answered; call i goes to server
    i mod len(urls) (round robin, as the proxy of docs/scaling.md does). One JWT audience
    for all servers: the same service, as an EHR sees it behind a proxy."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = _tokens(urls[0], key, calls)
    jobs = [(urls[i % len(urls)], token) for i, token in enumerate(tokens)]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda job: _one(job[0], body, job[1]), jobs))


def _cpu_seconds(pid: int) -> float:
    """The server process's user + system CPU time so far (Linux /proc): per call, it says
    what a call costs whatever else the machine is running."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _checkpoints(home: Path) -> int:
    from base import settings

    path = settings.audit_checkpoint_file()
    return len(path.read_bytes().splitlines()) if path.is_file() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_servers(home: Path, count: int, port: int) -> list[Any]:
    """``count`` serve-cds processes on one store and data folder (shared signing key and
    checkpoint file), each on its own port; all take tokens for the first one's address
    (one service as the EHR sees it behind a proxy)."""
    exe = Path(sys.executable).with_name("kapcds")
    ports = [port + index if port else _free_port() for index in range(count)]
    audience = f"http://127.0.0.1:{ports[0]}"
    procs = []
    for server_port in ports:
        server_log = (home / f"serve-cds-{server_port}.log").open("wb")  # a pipe nobody reads
        env = {**os.environ, "KAPCDS_CDS_BASE_URL": audience}
        proc = subprocess.Popen([str(exe), "serve-cds", "--port", str(server_port),
                                 "--registry", str(home / "registry")], env=env,
                                stdout=subprocess.DEVNULL, stderr=server_log)
        server_log.close()
        proc.base = f"http://127.0.0.1:{server_port}"  # type: ignore[attr-defined]
        procs.append(proc)
    for proc in procs:
        _wait(proc.base, proc)
    return procs


def _run_hook(hook: str, procs: list[Any], key: Any, home: Path,
              args: argparse.Namespace) -> None:
    urls = [f"{proc.base}/cds-services/{SERVICE[hook]}" for proc in procs]
    body = _body(hook, "bench-1")
    _measure(urls, key, body, 10 * len(urls), 2)  # warm-up: model load, first predict
    for run in range(args.repeats):
        load, anchored = os.getloadavg(), _checkpoints(home)
        cpu = sum(_cpu_seconds(proc.pid) for proc in procs)
        started = time.perf_counter()
        times = sorted(_measure(urls, key, body, args.calls, args.concurrency))
        wall = time.perf_counter() - started
        cpu = (sum(_cpu_seconds(proc.pid) for proc in procs) - cpu) * 1000 / len(times)
        anchored = _checkpoints(home) - anchored
        pct = statistics.quantiles(times, n=100)
        log.info("%s run %d: %d calls, %d at a time, %d server(s), %.0f calls/s | p50 %.1f ms"
                 "  p95 %.1f ms  p99 %.1f ms  max %.1f ms | server CPU %.1f ms/call, "
                 "%d checkpoints | load before %.2f %.2f %.2f, after %.2f", hook, run + 1,
                 len(times), args.concurrency, len(procs), len(times) / wall, pct[49],
                 pct[94], pct[98], times[-1], cpu, anchored, *load, os.getloadavg()[0])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--hooks", default="patient-view,order-sign")
    parser.add_argument("--repeats", type=int, default=3, help="runs per hook (medians)")
    parser.add_argument("--port", type=int, default=0, help="first server port (default: "
                        "free ones)")
    parser.add_argument("--servers", type=int, default=1, help="serve-cds processes on the "
                        "one store, called round robin (default 1)")
    parser.add_argument("--database-url", default=None, help="an EMPTY PostgreSQL database "
                        "for the store (default: SQLite in the throwaway folder)")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "k1"}
    with tempfile.TemporaryDirectory(prefix="kapcds-cds-bench-") as tmp:
        home = Path(tmp)
        (home / "issuers.json").write_text(json.dumps({ISS: {"jwks": {"keys": [jwk]}}}))
        os.environ.update({"KAPCDS_HOME": str(home), "KAPCDS_ADMIN_PASSWORD": PASSWORD,
                           "KAPCDS_CDS_ISSUERS": str(home / "issuers.json")})
        os.environ.pop("KAPCDS_DATABASE_URL", None)
        if args.database_url:
            os.environ["KAPCDS_DATABASE_URL"] = args.database_url
        _prepare(home, "bench-1")
        procs = _start_servers(home, args.servers, args.port)
        try:
            for hook in [h.strip() for h in args.hooks.split(",") if h.strip()]:
                _run_hook(hook, procs, key, home, args)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)
            for path in sorted(home.glob("serve-cds-*.log")):
                tail = path.read_text(errors="replace").splitlines()[-5:]
                log.info("%s ends: %s", path.name, " | ".join(tail))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
