"""First-run messages: routine steps log at INFO, real problems (and where a new private key
lies) at WARNING, so an operator's WARNING filter shows what needs them (issue 30)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from base.signing import installation_key
from records import first_run
from training.lifecycle import first_run as model_first_run


def _levels(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.levelname for r in caplog.records if text in r.getMessage()]


def test_seeding_the_store_and_the_first_admin_are_info(caplog: pytest.LogCaptureFixture,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    with caplog.at_level(logging.DEBUG):
        engine = first_run.ensure_store()
    try:
        assert _levels(caplog, "seeded the empty store with") == ["INFO"]
        assert _levels(caplog, "created the first administrator account") == ["INFO"]
        assert _levels(caplog, "synthetic follow-up visits") == ["INFO"]
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
                    and "created the signing key" not in r.getMessage()]  # deliberate
        assert warnings == [], warnings
        assert "administrator account 'admin'" in capsys.readouterr().err  # shown, once
    finally:
        engine.dispose()


def test_training_the_first_model_is_announced_at_info(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(model_first_run, "train_first_model", lambda *a, **k: "v-stub")
    with caplog.at_level(logging.DEBUG):
        assert model_first_run.ensure_model(tmp_path / "registry") == "v-stub"
    assert _levels(caplog, "no model yet: training a first one") == ["INFO"]


def test_a_new_signing_key_stays_a_warning_and_names_its_file(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Kept at WARNING on purpose (base.signing says why): it names where an unencrypted
    private key now lies, which an operator must protect."""
    path = tmp_path / "keys" / "signing.key"
    with caplog.at_level(logging.DEBUG):
        installation_key(path)
        installation_key(path)  # the second use creates nothing and says nothing
    assert _levels(caplog, "created the signing key") == ["WARNING"]
    assert str(path) in caplog.text
    path.chmod(0o644)  # a real problem stays a warning too
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        installation_key(path)
    assert _levels(caplog, "is readable by other users") == ["WARNING"]
