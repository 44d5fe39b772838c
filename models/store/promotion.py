"""Promotion records: which model version clinicians use, who chose it, when and why.

``CURRENT`` holds the newest promotion record, signed with the installation's key, and
``promotions.jsonl`` every one of them. A record takes effect only after the caller's
``audit`` callback has committed its audit entry (issue 24: an unsigned pointer made a
never-promoted version current, and a kill -9 left a promotion with no audit entry).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from base.files import write_atomically
from base.signing import PublicKey, SignatureError, SigningKey, verify_document

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
HISTORY = "promotions.jsonl"
PURPOSE = "registry-promotion"
FORMAT = "kapcds-promotion/1"
_VERSION_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}")

# commits the audit entry of a promotion record before it takes effect; raises to stop it
PromotionAudit = Callable[[dict[str, Any]], None]


class PromotionError(ValueError):
    """``CURRENT`` is empty, edited, unsigned or signed by an unknown key."""


def promote(root: Path, key: SigningKey, version: str, previous: str | None, by: str,
            reason: str, audit: PromotionAudit | None) -> dict[str, Any]:
    """Sign a promotion record, have it audited, then make it current; return it."""
    record = key.sign(PURPOSE, {
        "format": FORMAT, "version": version, "previous": previous,
        "by": by or "unknown", "reason": reason or "",
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "id": secrets.token_hex(8)})
    if audit is not None:
        audit(record)  # committed before CURRENT changes (kill -9 safe order)
    else:
        log.warning("promotion of %s is not audited (no audit callback)", version)
    root.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, sort_keys=True)
    with open(root / HISTORY, "a", encoding="utf-8") as history:
        history.write(text + "\n")
    write_atomically(root / CURRENT, text + "\n")
    log.info("promoted model version %s (was %s) by %s", version, previous, record["by"])
    return record


def read_current(root: Path, trusted: Iterable[PublicKey]) -> dict[str, Any] | None:
    """The current promotion record, its signature checked; None when nothing was ever
    promoted; PromotionError saying what is wrong otherwise."""
    path = root / CURRENT
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        what = "empty" if not text else ("not a signed promotion record (a bare version id "
                                         "written by hand or by an older release)")
        raise PromotionError(f"{path} is {what}")
    try:
        verify_document(PURPOSE, record, trusted)
    except SignatureError as exc:
        raise PromotionError(f"{path} is refused: {exc}") from exc
    version = record.get("version")
    if record.get("format") != FORMAT or not isinstance(version, str) \
            or not _VERSION_ID.fullmatch(version):
        raise PromotionError(f"{path} names no valid model version")
    return record


def describe(record: dict[str, Any]) -> str:
    """"promoted by X at T: reason" for version lists."""
    reason = f": {record['reason']}" if record.get("reason") else ""
    return f"promoted by {record.get('by')} at {record.get('at')}{reason}"
