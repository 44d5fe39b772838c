"""`kapcds keys` and `kapcds registry migrate`: the signing key and signed artifacts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from base import settings


def _keys_show(args: argparse.Namespace) -> int:
    from base.signing import installation_key

    key = installation_key()
    sys.stdout.write(f"signing key {key.key_id} ({key.path}); public key:\n")
    sys.stdout.write(key.public.pem().decode("ascii"))
    return 0


def _registry_migrate(args: argparse.Namespace) -> int:
    from kapcds.common import audited
    from models.store.registry import Registry
    from models.store.registry_migrate import migrate

    registry = Registry(args.registry)
    with audited("model_migration", "model", f"registry {args.registry}") as note:
        done = migrate(registry)
        note["detail"] += f": {len(done)} version(s) re-saved and signed by key " \
                          f"{registry.key.key_id}: {', '.join(done) or 'none'}"
    for version in done:
        sys.stdout.write(f"migrated {version}\n")
    sys.stdout.write(f"{len(done)} version(s) migrated; every version is now signed by key "
                     f"{registry.key.key_id}\n")
    return 0


def register_all(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to the parser."""
    keys = sub.add_parser("keys", help="this installation's signing key")
    verbs = keys.add_subparsers(dest="verb", required=True, metavar="ACTION")
    verbs.add_parser("show", help="print the key id and the public key (PEM)",
                     ).set_defaults(handler=_keys_show)

    registry = sub.add_parser("registry", help="model registry maintenance")
    verbs = registry.add_subparsers(dest="verb", required=True, metavar="ACTION")
    p = verbs.add_parser(
        "migrate", help="re-save versions from before signed manifests (unpickles them once)",
        description="Versions saved by older releases hold a pickled models.joblib under an "
        "unsigned manifest and are refused on load. Run this once, on a registry you made "
        "yourself: each such version whose hashes check out is unpickled, re-saved in the "
        "plain-data format and signed with this installation's key.")
    p.add_argument("--registry", type=Path, default=settings.default_registry_dir(),
                   help="model registry folder (default: %(default)s)")
    p.set_defaults(handler=_registry_migrate)
