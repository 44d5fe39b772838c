"""First-run store: migrated, seeded with the synthetic samples when empty, with an admin.

A file lock keeps two processes (the CLI and the dashboard) from seeding twice.
"""

from __future__ import annotations

import logging
import os
import sys

from sqlalchemy.engine import Engine

from base import settings
from base.files import file_lock
from records.db import make_engine, session_factory
from records.followup.imports import seed_followup
from records.imports.bulk import seed_from_samples
from records.migrate import upgrade
from records.security.users import ADMIN_PASSWORD_VARIABLE, FIRST_ADMIN, create_first_admin

log = logging.getLogger(__name__)


def ensure_admin(engine: Engine) -> None:
    """A store without accounts gets ``admin``, its password from ``KAPCDS_ADMIN_PASSWORD``
    or generated and shown once on stderr (never a fixed default, never in a log file)."""
    with session_factory(engine)() as session:
        generated = create_first_admin(session, os.environ.get(ADMIN_PASSWORD_VARIABLE))
    if generated:
        sys.stderr.write(f"\nKAP-CDS first run: created the administrator account "
                         f"'{FIRST_ADMIN}' with the password\n\n    {generated}\n\nIt is shown "
                         "only this once: sign in and change it (or add accounts with "
                         "`kapcds users add`).\n\n")
        sys.stderr.flush()


def ensure_store(url: str | None = None) -> Engine:
    """An engine on a migrated store, seeded with the synthetic samples when empty.

    The sample follow-up is seeded too (once, for the synthetic patients only), so a store
    seeded before follow-up was stored gets it on its next start.
    """
    engine = make_engine(url or settings.default_database_url())
    with file_lock(settings.home_dir() / ".store.lock"):
        upgrade(engine)
        added = seed_from_samples(engine, settings.DATA_SAMPLES_DIR)
        seed_followup(engine, settings.DATA_SAMPLES_DIR)  # the sample patients' follow-up
        ensure_admin(engine)
    if added:
        log.info("seeded the empty store with %d synthetic sample patients", added)
    return engine
