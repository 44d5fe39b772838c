"""The installation's signing key: Ed25519 signatures over canonical JSON documents.

One private key per installation (``settings.signing_key_file()``, default
``<home>/keys/signing.key``, mode 0600, created on first use) signs registry manifests,
backup manifests and audit checkpoints. It lives outside the registry, the database and
every backup, so whoever can write those cannot make a signature that verifies. The public
half is written beside it (``signing.pub``, PEM); another installation names that file in
``kapcds restore DIR --trust-key FILE`` to accept a backup made here.

Ed25519 rather than an HMAC so that trusting another installation's backups or checking
checkpoints needs only its *public* key, which can be copied around without giving the
power to sign.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from base import settings

log = logging.getLogger(__name__)

SCHEME = "ed25519"
PUBLIC_SUFFIX = ".pub"


class SignatureError(ValueError):
    """A document is unsigned, signed by an unknown key, or its signature does not verify."""


class KeyFileError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def canonical_bytes(purpose: str, document: Mapping[str, Any]) -> bytes:
    """What is signed: a purpose label (so a signature cannot be replayed elsewhere) and the
    document without its ``signature`` field as sorted, compact JSON."""
    body = {k: v for k, v in document.items() if k != "signature"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)
    return f"kapcds:{purpose}\n{text}".encode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key and its short id (first 16 hex digits of its SHA-256)."""

    raw: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def read_public_key(path: Path) -> PublicKey:
    """A PEM public key file (``signing.pub``); a private key file is accepted too."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read the key file {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{path} is not a PEM Ed25519 key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return PublicKey(key.public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw))


class SigningKey:
    """The installation's private key (load with ``installation_key()``)."""

    def __init__(self, private: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._private = private
        self.path = path
        self.public = PublicKey(private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def mac(self, purpose: str, data: bytes) -> str:
        """An HMAC-SHA256 (hex) of ``data`` for files this installation writes and reads back
        itself (caches, job uploads): cheaper than a signature for megabytes, and only the
        key's owner can make one. Its key is derived from the private key, never stored."""
        raw = self._private.private_bytes(serialization.Encoding.Raw,
                                          serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        key = hashlib.sha256(b"kapcds:mac-key\n" + raw).digest()
        return hmac.new(key, f"kapcds:{purpose}\n".encode() + data, hashlib.sha256).hexdigest()

    def mac_matches(self, purpose: str, data: bytes, tag: str) -> bool:
        """Whether ``tag`` is this key's MAC of ``data`` (constant-time comparison)."""
        return hmac.compare_digest(self.mac(purpose, data), str(tag))

    def sign(self, purpose: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``document`` with a ``signature`` field."""
        value = self._private.sign(canonical_bytes(purpose, document))
        return {**{k: v for k, v in document.items() if k != "signature"},
                "signature": {"scheme": SCHEME, "key_id": self.key_id,
                              "value": base64.b64encode(value).decode("ascii")}}

    def sign_bytes(self, message: bytes) -> bytes:
        """A raw Ed25519 signature (XML-DSig signs canonical ``SignedInfo``, whose bytes start
        with ``<`` and so can never equal a ``canonical_bytes`` message)."""
        return self._private.sign(message)


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    public = SigningKey(private).public.pem()
    public_path = path.with_name(path.name.removesuffix(".key") + PUBLIC_SUFFIX)
    public_path.write_bytes(public)
    # Deliberately WARNING (the other first-run messages are INFO): it names where an
    # unencrypted private key now lies. Whoever reads it can forge promotion records and
    # signed files, so an operator must see it, restrict and keep it out of shared backups.
    log.warning("created the signing key %s (keep it out of backups; its public half is %s)",
                path, public_path)


def installation_key(path: Path | None = None, create: bool = True) -> SigningKey:
    """This installation's signing key, created (0600) on first use unless ``create=False``."""
    path = Path(path or settings.signing_key_file())
    if not path.is_file():
        if not create:
            raise KeyFileError(f"no signing key at {path}")
        _create_key(path)
    if path.stat().st_mode & 0o077:
        log.warning("the signing key %s is readable by other users; chmod 600 it", path)
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a PEM Ed25519 private key") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(private).__name__}, not an Ed25519 key")
    return SigningKey(private, path)


def verify_document(purpose: str, document: Mapping[str, Any],
                    trusted: Iterable[PublicKey]) -> PublicKey:
    """The trusted key that signed ``document``; ``SignatureError`` saying why if none did."""
    signature = document.get("signature")
    if not isinstance(signature, Mapping):
        raise SignatureError("it is not signed")
    if signature.get("scheme") != SCHEME:
        raise SignatureError(f"unknown signature scheme {signature.get('scheme')!r}")
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
    except ValueError as exc:
        raise SignatureError("its signature is not valid base64") from exc
    keys = {key.key_id: key for key in trusted}
    key = keys.get(str(signature.get("key_id")))
    if key is None:
        raise SignatureError(f"it is signed by key {signature.get('key_id')!r}, which this "
                             f"installation does not trust (trusted: {', '.join(keys)})")
    try:
        message = canonical_bytes(purpose, document)
    except (TypeError, ValueError) as exc:
        raise SignatureError(f"it cannot be put in canonical form: {exc}") from exc
    if not key.verifies(message, value):
        raise SignatureError(f"its signature by key {key.key_id} does not verify (the "
                             "document was changed after signing)")
    return key
