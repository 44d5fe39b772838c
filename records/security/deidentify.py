"""Patient data as each role may see it: identified, pseudonymised or de-identified.

De-identified (trainees) follows the HIPAA safe-harbour idea: no names, no identifiers
(a stable pseudonym instead of the patient id), no free text, dates shifted by a per-patient
offset (intervals within a patient stay true), ages over 89 shown as 90. Pseudonymised
(data scientists) drops names and free text but keeps ids and dates.

Pseudonyms and shifts are HMAC-SHA256 of the patient id under a secret key: stable across
sessions and pages, but not reversible by hashing every KAP-xxxxx id (which a plain hash
would be). The key comes from ``KAPCDS_PSEUDONYM_KEY`` or a file made once in the data
folder (mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

import pandas as pd

from base import settings
from models.contract.schema import ID_COLUMN, NAME_COLUMN
from records.security.policy import DEIDENTIFIED, IDENTIFIED, PSEUDONYMISED

log = logging.getLogger(__name__)

KEY_VARIABLE = "KAPCDS_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"
FREE_TEXT = ("notes", "concomitant_medications", "reason", "clinician", "recorded_by",
             "sae_description", "lot_number", "product")
MAX_SHIFT_DAYS = 182
AGE_CAP = 90


def pseudonym_key(home: Path | None = None) -> bytes:
    """The secret key for pseudonyms: the variable, or the data folder's key file."""
    configured = os.environ.get(KEY_VARIABLE)
    if configured:
        return configured.encode("utf-8")
    path = (home or settings.home_dir()) / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
            log.info("created the pseudonym key %s", path)
    return path.read_text(encoding="ascii").strip().encode("ascii")


def _digest(key: bytes, purpose: str, patient_id: str) -> bytes:
    return hmac.new(key, f"{purpose}:{patient_id}".encode(), hashlib.sha256).digest()


def pseudonym(patient_id: str, key: bytes) -> str:
    """A stable pseudonym such as ``P-3F9A1C07D2`` (same id and key → same pseudonym)."""
    return "P-" + _digest(key, "id", str(patient_id)).hex()[:10].upper()


def date_shift(patient_id: str, key: bytes) -> pd.Timedelta:
    """The patient's date offset: a whole number of days in ±182, never zero."""
    value = int.from_bytes(_digest(key, "shift", str(patient_id))[:4], "big")
    days = value % (2 * MAX_SHIFT_DAYS) - MAX_SHIFT_DAYS  # -182 … 181
    return pd.Timedelta(days=days or MAX_SHIFT_DAYS)


def _drop_private(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in (NAME_COLUMN, *FREE_TEXT) if c in frame.columns])


def pseudonymise(frame: pd.DataFrame) -> pd.DataFrame:
    """Without names and free text; ids and dates kept (for data scientists)."""
    return _drop_private(frame)


def deidentify(frame: pd.DataFrame, key: bytes, id_column: str = ID_COLUMN) -> pd.DataFrame:
    """Without names, free text and ids (pseudonyms instead), dates shifted, ages capped."""
    out = _drop_private(frame).copy()
    if id_column not in out.columns:
        raise ValueError(f"de-identification needs the {id_column!r} column")
    ids = [str(pid) for pid in out[id_column]]
    unique = dict.fromkeys(ids)
    names = {pid: pseudonym(pid, key) for pid in unique}
    shifts = {pid: date_shift(pid, key) for pid in unique}
    shift = pd.to_timedelta([shifts[pid] for pid in ids]).to_numpy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column] + shift
    if "age" in out.columns:
        out["age"] = out["age"].clip(upper=AGE_CAP)
    if [str(i) for i in out.index] == ids:
        out.index = pd.Index([names[pid] for pid in ids], name=out.index.name)
    out[id_column] = [names[pid] for pid in ids]
    return out


def for_view(frame: pd.DataFrame, view: str | None, key: bytes | None = None,
             id_column: str = ID_COLUMN) -> pd.DataFrame:
    """``frame`` as the given patient-data view shows it (``policy.patient_view(role)``)."""
    if view == IDENTIFIED:
        return frame
    if view == PSEUDONYMISED:
        return pseudonymise(frame)
    if view == DEIDENTIFIED:
        return deidentify(frame, key if key is not None else pseudonym_key(), id_column)
    raise PermissionError("this role may not see patient-level data")
