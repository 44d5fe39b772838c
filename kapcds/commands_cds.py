"""`kapcds serve-cds`: the CDS Hooks service (FastAPI on uvicorn) for EHRs.

Settings (port, issuers, dashboard URL, …) are environment variables documented in
``interop.cds_hooks.settings``; ``--host``/``--port`` override the address.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from base import settings as base_settings

log = logging.getLogger(__name__)


def _serve_cds(args: argparse.Namespace) -> int:
    import uvicorn

    from interop.cds_hooks.service import create_app
    from interop.cds_hooks.settings import cds_settings
    from kapcds.common import promotion_audit
    from records.first_run import ensure_store
    from training.lifecycle.first_run import ensure_model

    settings = cds_settings(args.host, args.port)
    if not settings.issuers:
        log.warning("KAPCDS_CDS_ISSUERS is not set: no EHR is trusted, every hook call "
                    "will be refused")
    # first run trains a first model
    ensure_model(args.registry, audit=promotion_audit())
    app = create_app(settings, registry_dir=args.registry, engine=ensure_store())
    sys.stdout.write(f"CDS Hooks discovery: http://{settings.host}:{settings.port}"
                     f"/cds-services (JWT aud base {settings.base_url})\n")
    sys.stdout.flush()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                access_log=False)
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    p = sub.add_parser("serve-cds", help="serve the CDS Hooks service for EHRs",
                       description="Serve CDS Hooks discovery (GET /cds-services) and the "
                       "patient-view hook (POST /cds-services/kapcds-patient-view): "
                       "eligibility, predicted response and side-effect risks as cards. "
                       "Calls must carry a JWT signed by an issuer listed in the "
                       "KAPCDS_CDS_ISSUERS file; every call is audited. Synthetic-data "
                       "model: decision support, not a decision.")
    p.add_argument("--host", default=None, help="address to listen on (default "
                   "KAPCDS_CDS_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default KAPCDS_CDS_PORT "
                   "or 8765)")
    p.add_argument("--registry", type=Path, default=base_settings.default_registry_dir(),
                   help="model registry folder (default: %(default)s)")
    p.set_defaults(handler=_serve_cds)
