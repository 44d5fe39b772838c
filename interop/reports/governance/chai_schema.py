"""Validation against the CHAI Applied Model Card v0.2 schema, offline.

The schema (``schemas/``, unchanged copies with their licences) imports the W3C XML-DSig
schema from w3.org; a resolver maps that address to the local copy and the parser may not
use the network, so validation works on an air-gapped clinic server.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "schemas"
CHAI_XSD = SCHEMAS / "chai-applied-model-card-v0.2.xsd"
DSIG_XSD = SCHEMAS / "xmldsig-core-schema.xsd"
DSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"
NAMESPACE = "https://mc.chai.org/v0.2/schema.xsd"


class _LocalSchemas(etree.Resolver):
    """Serve the XML-DSig schema from the package instead of w3.org."""

    def resolve(self, system_url, public_id, context):  # noqa: ANN001, ANN201 (lxml API)
        if system_url == DSIG_URL:
            return self.resolve_filename(str(DSIG_XSD), context)
        return None


def safe_parser() -> etree.XMLParser:
    """A parser for untrusted XML: no network, no external entities, no DTD loading."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=False)


@lru_cache(maxsize=1)
def chai_schema() -> etree.XMLSchema:
    """The CHAI v0.2 schema, with its XML-DSig import resolved locally."""
    parser = etree.XMLParser(no_network=True, load_dtd=False)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(CHAI_XSD), parser))


def validation_errors(xml: bytes) -> list[str]:
    """Why ``xml`` is not a valid CHAI v0.2 card (line and message per error); [] if valid."""
    try:
        document = etree.fromstring(xml, safe_parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = chai_schema()
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
