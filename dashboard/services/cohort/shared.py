"""The cohort table shared through the store between replicas (issue 31, item 4).

Each dashboard process keeps its cohort file under its own ``KAPCDS_HOME`` (a replica on
another machine has no view of it). So that replicas on one store build a store state once,
the builder holds a lease row in the store (``records.shared_builds``) and publishes the
Arrow bytes there; the others wait for them and install them as their own cohort file.

Chosen over a shared cache folder because the store is the one thing every replica already
reaches (no network file system to run, lock and back up) and the bytes are small beside
the build they save (measured in ``docs/scaling.md``). Nothing read back is trusted
unverified: the bytes carry their SHA-256 and an HMAC of the installation key (which the
replicas share, as they share the audit checkpoint file) over the model version, the
store's identity, the fingerprint and the bytes; a mismatch is logged, audited as
``integrity_failure`` and the table built from the store instead. The bytes are Arrow IPC:
data only, nothing executes on load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from base.settings import build_lease_seconds
from base.signing import installation_key
from dashboard.services.workspace import Workspace
from records import shared_builds
from records.audit.checkpoints import store_name
from records.audit.trail import record_now
from records.security.policy import MODEL, SECURITY, SYSTEM_ROLE, Actor

log = logging.getLogger(__name__)

PURPOSE = "cohort-shared"
POLL_SECONDS = 0.5


def lease_seconds() -> int:
    """How long a lease lasts unrenewed; the builder renews it after every chunk."""
    return build_lease_seconds()


def wait_seconds() -> int:
    """How long a replica waits for another's build before building on its own."""
    return 2 * lease_seconds()


def build_key(ws: Workspace, fmt: int) -> str:
    """The lease row of this model version's cohort table (the row lives in the store, so
    the store is implied)."""
    created = str(ws.card.get("created_utc", "")).replace(":", "").replace("-", "")
    return f"cohort-f{fmt}-v{ws.version}-{created}"[:160]


def _context(ws: Workspace, key: str, fingerprint: str) -> bytes:
    return f"{key}|{store_name(ws.engine)}|{fingerprint}\n".encode()


@dataclass
class Lease:
    """A claimed build lease; ``publish`` ends it with the result, ``release`` without."""

    ws: Workspace
    key: str
    holder: str = field(default_factory=shared_builds.holder_id)
    held: bool = False

    def claim(self) -> bool:
        self.held = shared_builds.claim(self.ws.engine, self.key, self.holder,
                                        lease_seconds())
        return self.held

    def renew(self) -> None:
        if self.held:
            self.held = shared_builds.renew(self.ws.engine, self.key, self.holder,
                                            lease_seconds())

    def publish(self, fingerprint: str, body: bytes) -> bool:
        if not self.held:
            return False
        tag = installation_key().mac(PURPOSE, _context(self.ws, self.key, fingerprint) + body)
        self.held = False
        return shared_builds.publish(self.ws.engine, self.key, self.holder, fingerprint,
                                     body, tag)

    def release(self) -> None:
        if self.held:
            shared_builds.release(self.ws.engine, self.key, self.holder)
            self.held = False


def published_fingerprint(ws: Workspace, key: str) -> str | None:
    """The store state of the published table (None: nothing published yet)."""
    found = shared_builds.state(ws.engine, key)
    return None if found is None else found.fingerprint


def fetch(ws: Workspace, key: str) -> tuple[str, bytes] | None:
    """(fingerprint, Arrow bytes) of the published table, verified; None when there is
    none or it fails its check (logged and audited: it is never shown)."""
    found = shared_builds.published(ws.engine, key)
    if found is None:
        return None
    if installation_key().mac_matches(
            PURPOSE, _context(ws, key, found.fingerprint) + found.body, found.tag):
        return found.fingerprint, found.body
    log.error("the cohort table published in the store for %s failed its integrity check "
              "(not written by this installation for this model and store): ignored; "
              "building from the store", key)
    audit_integrity_failure(ws, f"shared cohort table {key} failed its HMAC check; ignored")
    return None


def audit_integrity_failure(ws: Workspace, detail: str) -> None:
    """Audit a cohort table (file or published copy) that failed its HMAC check; a failure
    to audit is logged, never raised: the build goes on and the caller's log line stands."""
    try:
        record_now(ws.engine, Actor("system:cohort-cache", SYSTEM_ROLE), "integrity_failure",
                   SECURITY, outcome="failure", detail=detail)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not audit the rejected cohort table")


def audit_build(ws: Workspace, detail: str) -> None:
    """One audit entry per build, so the builds of one store state can be counted across
    replicas (with or without the lease)."""
    try:
        record_now(ws.engine, Actor("system:cohort-cache", SYSTEM_ROLE), "cohort_build", MODEL,
                   detail=detail[:2000])
    except Exception:  # noqa: BLE001 - the table is built; the log says so
        log.exception("could not audit the cohort build")
