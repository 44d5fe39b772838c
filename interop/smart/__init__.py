"""SMART App Launch 2.x for the dashboard (issue 26): the protocol, no Streamlit, no store.

``settings`` holds the scopes and the ``KAPCDS_SMART_*`` environment settings;
``discovery`` checks an issuer against the admin's allow-list *before* any request and reads
its ``.well-known/smart-configuration``; ``flow`` runs the authorisation-code flow with
PKCE (S256), ``state`` and ``nonce`` through Authlib and validates the ID token with
joserfc; ``fhir_read`` reads the launched patient's record from the issuer's FHIR server
with the access token, as one Bundle the FHIR importer takes. Nothing runs at import.
"""

__all__ = [
    "discovery",
    "fhir_read",
    "flow",
    "settings",
]
