"""Who may do what: accounts and sign-in, server-side sessions, single sign-on,
role policy and de-identification.
"""

__all__ = [
    "deidentify",
    "policy",
    "signin_sessions",
    "smart_accounts",
    "smart_pending",
    "sso_accounts",
    "throttle",
    "users",
]
