"""Input problems located by file line and column, raised all at once (CSV, forms, FHIR)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_LISTED = 50  # problems listed in str(); all of them stay in .errors


@dataclass
class RowError:
    """One problem: where it is (file line, column) and what is allowed instead."""

    row: int | None
    column: str | None
    message: str

    def location(self) -> str:
        parts = ([f"row {self.row}"] if self.row is not None else [])
        parts += [f"column {self.column!r}"] if self.column is not None else []
        return ", ".join(parts) or "file"

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


class InputValidationError(ValueError):
    """Raised with every problem found, so callers can show them all at once."""

    def __init__(self, errors: list[RowError], source: str | None = None) -> None:
        self.errors = sorted(errors, key=lambda e: (e.row is not None, e.row or 0))
        self.source = source
        super().__init__(self._report())

    def _count(self) -> str:
        n = len(self.errors)
        return f"{n} problem" + ("" if n == 1 else "s")

    def summary(self) -> str:
        """One line for logs and status bars: how many problems and the first one."""
        first = f"; first: {self.errors[0]}" if self.errors else ""
        return f"{self.source or 'input'}: {self._count()}{first}"

    def _report(self) -> str:
        lines = [f"{self.source or 'input'}: {self._count()} found:"]
        lines += [f"  - {e}" for e in self.errors[:MAX_LISTED]]
        if len(self.errors) > MAX_LISTED:
            lines.append(f"  ... and {len(self.errors) - MAX_LISTED} more")
        return "\n".join(lines)
