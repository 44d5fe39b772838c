"""An enveloped XML-DSig signature with the installation's Ed25519 key (RFC 9231 EdDSA).

Why by hand: signxml (5.2) signs with RSA, ECDSA, DSA or HMAC keys but not Ed25519 (its
issue #216), and the installation key that signs registry manifests, backups and audit
checkpoints is Ed25519 (``base.signing``). The profile is the smallest one the W3C
recommendation allows: one ``Reference URI=""`` over the whole document with the
enveloped-signature and exclusive-C14N transforms, SHA-256 digest, exclusive C14N of
``SignedInfo``, and a ``KeyName`` holding the key id (the verifier looks the key up among
those it trusts; a key carried in the document would prove nothing). Verification accepts
exactly this profile and nothing else.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Iterable

from lxml import etree
from lxml.builder import ElementMaker

from base.signing import PublicKey, SignatureError, SigningKey
from interop.reports.governance.chai_schema import safe_parser

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ED25519 = "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519"  # RFC 9231 §2.3.1


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _without_signature(root: etree._Element) -> etree._Element:
    clone = copy.deepcopy(root)
    for signature in clone.findall(_ds("Signature")):
        clone.remove(signature)
    return clone


def _digest(root: etree._Element) -> str:
    return base64.b64encode(hashlib.sha256(_c14n(_without_signature(root))).digest()).decode()


def _signed_info(digest: str) -> etree._Element:
    E = ElementMaker(namespace=DS, nsmap={"ds": DS})
    return E.SignedInfo(
        E.CanonicalizationMethod(Algorithm=EXC_C14N), E.SignatureMethod(Algorithm=ED25519),
        E.Reference(E.Transforms(E.Transform(Algorithm=ENVELOPED),
                                 E.Transform(Algorithm=EXC_C14N)),
                    E.DigestMethod(Algorithm=SHA256), E.DigestValue(digest), URI=""))


def sign_xml(xml: bytes, key: SigningKey) -> bytes:
    """``xml`` with an enveloped ``ds:Signature`` as the root's last child (a previous one is
    replaced). Serialise the result as returned: re-indenting it breaks the digest."""
    root = etree.fromstring(xml, safe_parser())
    for old in root.findall(_ds("Signature")):
        root.remove(old)
    E = ElementMaker(namespace=DS, nsmap={"ds": DS})
    signed_info = _signed_info(_digest(root))
    value = base64.b64encode(key.sign_bytes(_c14n(signed_info))).decode()
    root.append(E.Signature(signed_info, E.SignatureValue(value),
                            E.KeyInfo(E.KeyName(key.key_id))))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _algorithm(element: etree._Element | None, path: str) -> str:
    found = None if element is None else element.find(path)
    return "" if found is None else str(found.get("Algorithm", ""))


def _check_profile(signature: etree._Element) -> etree._Element:
    signed_info = signature.find(_ds("SignedInfo"))
    if signed_info is None:
        raise SignatureError("the signature has no SignedInfo")
    references = signed_info.findall(_ds("Reference"))
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureError("the signature must have one Reference to the whole document")
    transforms = [t.get("Algorithm") for t in references[0].iter(_ds("Transform"))]
    checks = {"canonicalization": (_algorithm(signed_info, _ds("CanonicalizationMethod")),
                                   EXC_C14N),
              "signature method": (_algorithm(signed_info, _ds("SignatureMethod")), ED25519),
              "digest method": (_algorithm(references[0], _ds("DigestMethod")), SHA256)}
    for what, (found, expected) in checks.items():
        if found != expected:
            raise SignatureError(f"unsupported {what} {found!r} (expected {expected})")
    if transforms != [ENVELOPED, EXC_C14N]:
        raise SignatureError(f"unsupported transforms {transforms}")
    return signed_info


def verify_xml(xml: bytes, trusted: Iterable[PublicKey]) -> PublicKey:
    """The trusted key that signed ``xml``; ``SignatureError`` saying why if none did."""
    try:
        root = etree.fromstring(xml, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SignatureError(f"not well-formed XML: {exc}") from exc
    signatures = root.findall(_ds("Signature"))
    if len(signatures) != 1:
        raise SignatureError("it is not signed" if not signatures else "it has several "
                             "signatures")
    signed_info = _check_profile(signatures[0])
    keys = {key.key_id: key for key in trusted}
    name = signatures[0].findtext(f"{_ds('KeyInfo')}/{_ds('KeyName')}") or ""
    key = keys.get(name.strip())
    if key is None:
        raise SignatureError(f"it is signed by key {name!r}, which is not trusted (trusted: "
                             f"{', '.join(keys)})")
    stored = signed_info.findtext(f"{_ds('Reference')}/{_ds('DigestValue')}") or ""
    if not hmac.compare_digest(stored.strip(), _digest(root)):
        raise SignatureError("the document was changed after signing (digest mismatch)")
    try:
        value = base64.b64decode(signatures[0].findtext(_ds("SignatureValue")) or "",
                                 validate=True)
    except ValueError as exc:
        raise SignatureError("the signature value is not valid base64") from exc
    if not key.verifies(_c14n(signed_info), value):
        raise SignatureError(f"the signature by key {key.key_id} does not verify (SignedInfo "
                             "was changed)")
    return key
