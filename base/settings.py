"""Paths and settings as plain constants and small functions; nothing happens at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def audit_anchor_dir() -> Path | None:
    """The second, append-only place each audit checkpoint is written to
    (``KAPCDS_AUDIT_ANCHOR_DIR``: a folder the database's writer cannot rewrite, e.g. on
    another account or a write-once mount; one file per checkpoint). None: not configured."""
    value = os.environ.get("KAPCDS_AUDIT_ANCHOR_DIR", "").strip()
    return Path(value).expanduser() if value else None


def audit_anchor_syslog() -> bool:
    """Whether each audit checkpoint is also sent to syslog (``KAPCDS_AUDIT_ANCHOR_SYSLOG=1``;
    journald keeps it out of the database writer's reach)."""
    return os.environ.get("KAPCDS_AUDIT_ANCHOR_SYSLOG", "").strip().lower() in ("1", "true",
                                                                              "yes")


def dashboard_address() -> str:
    """Where the dashboard listens: ``KAPCDS_DASHBOARD_ADDRESS`` or loopback only.

    Listening on another interface serves patient data over plain HTTP unless a TLS proxy
    sits in front (docs/security.md), so it has to be asked for.
    """
    return os.environ.get("KAPCDS_DASHBOARD_ADDRESS", "").strip() or "127.0.0.1"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def build_lease_seconds() -> int:
    """How long a build lease in the store lasts unrenewed (``KAPCDS_BUILD_LEASE_SECONDS``,
    default 120): a crashed builder holds the other replicas up this long at most."""
    return max(5, _env_int("KAPCDS_BUILD_LEASE_SECONDS", 120))


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"{name}={value!r}: use on or off")


@dataclass(frozen=True)
class SecuritySettings:
    """Sign-in and session rules; each can be set by an environment variable (tests use it)."""

    # issue 24: no account lock; failures per (account, source address) before that address
    # waits 30 s (doubling per further failure) for that account, and the longest wait
    lockout_attempts: int = 5  # KAPCDS_LOCKOUT_ATTEMPTS
    lockout_minutes: int = 15  # KAPCDS_LOCKOUT_MINUTES
    session_idle_minutes: int = 30  # KAPCDS_SESSION_IDLE_MINUTES: idle time before sign-out
    bcrypt_rounds: int = 12  # KAPCDS_BCRYPT_ROUNDS: cost factor (2**rounds iterations)
    min_password_length: int = 12  # KAPCDS_MIN_PASSWORD_LENGTH
    local_signin: bool = True  # KAPCDS_LOCAL_SIGNIN=off: only single sign-on (no passwords)
    trust_proxy_headers: bool = False  # KAPCDS_TRUST_PROXY_HEADERS: X-Real-IP from loopback


def security_settings() -> SecuritySettings:
    """The security settings in force (read on each call, so a changed variable applies)."""
    return SecuritySettings(
        lockout_attempts=_env_int("KAPCDS_LOCKOUT_ATTEMPTS", 5),
        lockout_minutes=_env_int("KAPCDS_LOCKOUT_MINUTES", 15),
        session_idle_minutes=_env_int("KAPCDS_SESSION_IDLE_MINUTES", 30),
        bcrypt_rounds=_env_int("KAPCDS_BCRYPT_ROUNDS", 12),
        min_password_length=_env_int("KAPCDS_MIN_PASSWORD_LENGTH", 12),
        local_signin=_env_flag("KAPCDS_LOCAL_SIGNIN", True),
        trust_proxy_headers=_env_flag("KAPCDS_TRUST_PROXY_HEADERS", False),
    )


TIMEZONE_VARIABLE = "KAPCDS_TIMEZONE"
_LOCALTIME = Path("/etc/localtime")
_TIMEZONE_FILE = Path("/etc/timezone")


class SettingError(ValueError):
    """A setting has a value the program cannot use; the message names it and what works."""


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _server_zone() -> tzinfo:
    """The server's own zone: ``TZ``, the /etc/localtime link, /etc/timezone, else its offset."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    if _LOCALTIME.is_symlink():
        target = str(_LOCALTIME.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    if _TIMEZONE_FILE.is_file():
        candidates.append(_TIMEZONE_FILE.read_text(encoding="utf-8").strip())
    for name in candidates:
        zone = _zone(name) if name else None
        if zone is not None:
            return zone
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def clinic_timezone() -> tzinfo:
    """The clinic's time zone: ``KAPCDS_TIMEZONE`` (an IANA name such as ``Europe/Berlin``),
    else the server's local zone. Read on each call; every time on screen is shown in it."""
    configured = os.environ.get(TIMEZONE_VARIABLE, "").strip()
    if not configured:
        return _server_zone()
    zone = _zone(configured)
    if zone is None:
        raise SettingError(f"{TIMEZONE_VARIABLE}={configured!r} is not a known IANA time zone; "
                           "use a name such as Europe/Berlin or America/New_York")
    return zone


def timezone_name(zone: tzinfo) -> str:
    """A zone's name for people: the IANA key (``Europe/Berlin``) or its abbreviation."""
    key = getattr(zone, "key", None)
    if key:
        return "UTC" if key in ("Etc/UTC", "UTC", "Etc/Zulu", "Zulu") else str(key)
    return datetime.now(zone).tzname() or "local time"


# Per-outcome quality gate (models.clinical.quality_gate, issue 12): an outcome model whose held-out
# test ROC AUC has a lower 95 % bound below this is shown as not ranking patients reliably.
# 0.60 is the "fails to discriminate" / "poor" boundary of Hosmer & Lemeshow's rule of thumb
# (clinical-reference §7). A documented choice, not a standard.
QUALITY_GATE_MIN_AUC_LOWER = 0.60

# The first model `make run` trains (training.lifecycle.first_run.ensure_model): a seeded generated
# cohort larger than data_samples/, because 2,000 patients leave the test AUC intervals too
# wide for outcomes the generator makes predictable (measured in docs/quality-gate.md).
# The store is still seeded with data_samples/.
FIRST_MODEL_PATIENTS = 16_000
FIRST_MODEL_SEED = 20261126


def monitor_recent_patients() -> int:
    """How many of the newest stored patients the Monitoring view compares with the training
    data for input drift (``KAPCDS_MONITOR_RECENT``, default 300; *unsourced* choice: enough
    for a stable PSI over 10 bins)."""
    return max(20, _env_int("KAPCDS_MONITOR_RECENT", 300))


def jobs_dir() -> Path:
    """Where training jobs keep uploaded data and the worker's lock and log files."""
    return home_dir() / "jobs"


@dataclass(frozen=True)
class ClinicalLimits:
    """Clinic-set limits with no sourced value in clinical-reference.md (all *unsourced*
    defaults, named as such wherever they are shown); each is an environment variable.

    Heart rate after dosing: ketamine raises pulse with blood pressure (§3) but the reference
    names no threshold, so a common tachycardia margin is used. Staleness: how old an input
    may be before a CDS card names its date (§5 asks for this session's values; screening
    vitals and scales age).
    """

    hr_post_alert: int = 110  # KAPCDS_HR_POST_ALERT: post-dose heart rate ≥ this (beats/min)
    hr_rise_alert: int = 30  # KAPCDS_HR_RISE_ALERT: rise from pre-dose ≥ this (beats/min)
    stale_vitals_days: int = 90  # KAPCDS_STALE_VITALS_DAYS: BP, heart rate, BMI
    stale_scales_days: int = 30  # KAPCDS_STALE_SCALES_DAYS: PHQ-9, GAD-7 (a 2-week recall)


def clinical_limits() -> ClinicalLimits:
    """The clinical limits in force (read on each call; a bad value names its variable)."""
    values = {}
    for name, variable in (("hr_post_alert", "KAPCDS_HR_POST_ALERT"),
                           ("hr_rise_alert", "KAPCDS_HR_RISE_ALERT"),
                           ("stale_vitals_days", "KAPCDS_STALE_VITALS_DAYS"),
                           ("stale_scales_days", "KAPCDS_STALE_SCALES_DAYS")):
        try:
            values[name] = _env_int(variable, getattr(ClinicalLimits, name))
        except ValueError as exc:
            raise SettingError(f"{variable}={os.environ.get(variable)!r} is not a whole "
                               "number") from exc
        if values[name] <= 0:
            raise SettingError(f"{variable}={values[name]} must be a positive whole number")
    return ClinicalLimits(**values)
