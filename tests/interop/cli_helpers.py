"""Running `kapcds` in-process for the interop CLI tests (exit code, stdout, stderr)."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

from kapcds.cli import main


def run(*args: str) -> tuple[int, str, str]:
    """``kapcds ARGS`` in this process, its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()
