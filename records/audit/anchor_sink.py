"""The second place each signed audit checkpoint goes (issue 24), out of reach of whoever
can rewrite the database and the local checkpoint file: a configured folder
(``KAPCDS_AUDIT_ANCHOR_DIR``, one new file per checkpoint, never rewritten: make it
append-only or owned by another account) and/or syslog (``KAPCDS_AUDIT_ANCHOR_SYSLOG=1``).
``kapcds audit verify --anchor SOURCE`` reads such a folder, or a file of syslog lines,
back (``records.audit.checkpoints.read_source``).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from base import settings

log = logging.getLogger(__name__)
SYSLOG_TAG = "kapcds-audit-checkpoint"


def file_name(store: str, seq: int) -> str:
    return f"{store}-{seq:010d}.json"


def send(store: str, seq: int, line: bytes) -> None:
    """Write the checkpoint line to every configured second sink; failures are logged
    loudly (the committed work stands, and ``verify --anchor`` will show the gap)."""
    folder = settings.audit_anchor_dir()
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(Path(folder) / file_name(store, seq),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(line + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            log.error("could not write audit checkpoint %d to %s: %s", seq, folder, exc)
    if settings.audit_anchor_syslog():
        try:
            handler = logging.handlers.SysLogHandler(address="/dev/log")
            try:
                handler.emit(logging.LogRecord(SYSLOG_TAG, logging.INFO, __file__, 0,
                                               f"{SYSLOG_TAG} %s", (line.decode("ascii"),),
                                               None))
            finally:
                handler.close()
        except OSError as exc:
            log.error("could not send audit checkpoint %d to syslog: %s", seq, exc)
