"""Single sign-on settings become Streamlit's [auth] secrets (base.oidc)."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.oidc import oidc_settings, secrets_toml, write_secrets_file

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ENV = {"KAPCDS_OIDC_METADATA_URL": "https://login.example/t/v2.0/.well-known/openid-configuration",
       "KAPCDS_OIDC_CLIENT_ID": "client-1", "KAPCDS_OIDC_CLIENT_SECRET": 'se"cr\\et',
       "KAPCDS_OIDC_REDIRECT_URI": "https://kapcds.clinic.example/oauth2callback",
       "KAPCDS_OIDC_PROMPT": "select_account"}


def test_nothing_is_written_until_the_three_required_settings_are_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_OIDC_CLIENT_ID", "client-1")
    settings = oidc_settings()
    assert not settings.enabled
    assert settings.missing() == ["KAPCDS_OIDC_METADATA_URL", "KAPCDS_OIDC_CLIENT_SECRET"]
    assert write_secrets_file(settings, tmp_path) is None and not list(tmp_path.iterdir())


def test_the_auth_section_is_valid_toml_in_a_private_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    path = write_secrets_file(oidc_settings(), tmp_path)
    assert path is not None and oct(path.stat().st_mode)[-3:] == "600"
    auth = tomllib.loads(path.read_text(encoding="utf-8"))["auth"]
    assert auth["client_secret"] == 'se"cr\\et' and auth["client_id"] == "client-1"
    assert auth["server_metadata_url"] == ENV["KAPCDS_OIDC_METADATA_URL"]
    assert auth["redirect_uri"] == ENV["KAPCDS_OIDC_REDIRECT_URI"]
    assert auth["client_kwargs"] == {"prompt": "select_account"}
    secret = auth["cookie_secret"]
    assert len(secret) >= 40 and (tmp_path / "oidc-cookie-secret").read_text() == secret
    again = tomllib.loads(write_secrets_file(oidc_settings(), tmp_path).read_text())  # type: ignore
    assert again["auth"]["cookie_secret"] == secret  # kept, so identity cookies stay valid
    assert "cookie_secret" in secrets_toml(oidc_settings(), "given")


def test_an_unknown_match_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_OIDC_MATCH", "username")
    with pytest.raises(ValueError, match="KAPCDS_OIDC_MATCH='username'"):
        oidc_settings()
