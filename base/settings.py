"""Paths and settings as plain constants and small functions; nothing happens at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_SAMPLES_DIR = PROJECT_ROOT / "data_samples"
DOCS_DIR = PROJECT_ROOT / "docs"

SAMPLE_SEED = 20261125
SAMPLE_PATIENTS = 2000


def home_dir() -> Path:
    """Per-user data folder (``KAPCDS_HOME`` overrides; default ``~/.local/share/kapcds``)."""
    override = os.environ.get("KAPCDS_HOME")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kapcds"


def default_registry_dir() -> Path:
    """Where model versions live unless ``--registry`` says otherwise."""
    return home_dir() / "registry"


def default_database_url() -> str:
    """``KAPCDS_DATABASE_URL`` or an embedded SQLite file in the data folder."""
    url = os.environ.get("KAPCDS_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{home_dir() / 'kapcds.sqlite3'}"


def signing_key_file() -> Path:
    """The installation's Ed25519 signing key (``KAPCDS_SIGNING_KEY_FILE``).

    Default ``<home>/keys/signing.key``: outside the registry and never part of a backup,
    created on first use with mode 0600 (its public half beside it as ``signing.pub``).
    """
    override = os.environ.get("KAPCDS_SIGNING_KEY_FILE")
    if override:
        return Path(override).expanduser()
    return home_dir() / "keys" / "signing.key"


def audit_checkpoint_file() -> Path:
    """Append-only file of signed audit-chain checkpoints (``KAPCDS_AUDIT_CHECKPOINT_FILE``;
    default beside the signing key, outside the database)."""
    override = os.environ.get("KAPCDS_AUDIT_CHECKPOINT_FILE")
    if override:
        return Path(override).expanduser()
    return signing_key_file().parent / "audit-checkpoints.jsonl"


def audit_checkpoint_every() -> int:
    """Write a checkpoint at least every this many audit entries
    (``KAPCDS_AUDIT_CHECKPOINT_EVERY``, default 100)."""
    return max(1, _env_int("KAPCDS_AUDIT_CHECKPOINT_EVERY", 100))


def dashboard_address() -> str:
    """Where the dashboard listens: ``KAPCDS_DASHBOARD_ADDRESS`` or loopback only.

    Listening on another interface serves patient data over plain HTTP unless a TLS proxy
    sits in front (docs/security.md), so it has to be asked for.
    """
    return os.environ.get("KAPCDS_DASHBOARD_ADDRESS", "").strip() or "127.0.0.1"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in and session rules; each can be set by an environment variable (tests use it)."""

    lockout_attempts: int = 5  # KAPCDS_LOCKOUT_ATTEMPTS: failed sign-ins before a lock
    lockout_minutes: int = 15  # KAPCDS_LOCKOUT_MINUTES: how long the lock lasts
    session_idle_minutes: int = 30  # KAPCDS_SESSION_IDLE_MINUTES: idle time before sign-out
    bcrypt_rounds: int = 12  # KAPCDS_BCRYPT_ROUNDS: cost factor (2**rounds iterations)
    min_password_length: int = 12  # KAPCDS_MIN_PASSWORD_LENGTH


def security_settings() -> SecuritySettings:
    """The security settings in force (read on each call, so a changed variable applies)."""
    return SecuritySettings(
        lockout_attempts=_env_int("KAPCDS_LOCKOUT_ATTEMPTS", 5),
        lockout_minutes=_env_int("KAPCDS_LOCKOUT_MINUTES", 15),
        session_idle_minutes=_env_int("KAPCDS_SESSION_IDLE_MINUTES", 30),
        bcrypt_rounds=_env_int("KAPCDS_BCRYPT_ROUNDS", 12),
        min_password_length=_env_int("KAPCDS_MIN_PASSWORD_LENGTH", 12),
    )


def monitor_recent_patients() -> int:
    """How many of the newest stored patients the Monitoring view compares with the training
    data for input drift (``KAPCDS_MONITOR_RECENT``, default 300; *unsourced* choice: enough
    for a stable PSI over 10 bins)."""
    return max(20, _env_int("KAPCDS_MONITOR_RECENT", 300))


def jobs_dir() -> Path:
    """Where training jobs keep uploaded data and the worker's lock and log files."""
    return home_dir() / "jobs"
