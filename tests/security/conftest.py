"""Security-test fixtures: a private data folder per test, fast bcrypt, a tiny registry."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from kapcds.cli import main


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own KAPCDS_HOME (SQLite store, registry, pseudonym key)."""
    folder = tmp_path / "home"
    monkeypatch.setenv("KAPCDS_HOME", str(folder))
    monkeypatch.delenv("KAPCDS_DATABASE_URL", raising=False)
    monkeypatch.delenv("KAPCDS_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("KAPCDS_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "4")
    return folder


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `kapcds` in-process; ``stdin`` text is what the command reads."""

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
        return Result(code, out.getvalue(), err.getvalue())

    return run
