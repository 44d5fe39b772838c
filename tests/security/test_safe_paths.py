"""User-given paths never leave their data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from base.safety import UnsafePathError, safe_path


def test_names_inside_the_folder_are_allowed(tmp_path: Path) -> None:
    assert safe_path(tmp_path, "patients.csv") == (tmp_path / "patients.csv").resolve()
    assert safe_path(tmp_path, "sub/./x.csv") == (tmp_path / "sub" / "x.csv").resolve()
    assert safe_path(tmp_path, "sub/../y.csv") == (tmp_path / "y.csv").resolve()


@pytest.mark.parametrize("bad", ["../secret.csv", "../../etc/passwd", "a/../../b", "/etc/passwd",
                                 "", "x\x00.csv", "..", "sub/../../.."])
def test_escapes_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_path(tmp_path / "data", bad)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", data / "link.txt")
    with pytest.raises(UnsafePathError, match="outside the data folder"):
        safe_path(data, "link.txt")
