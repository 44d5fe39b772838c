"""What-if state derived from the current inputs (issue 23 defect 9; no Streamlit here).

Everything the explorer keeps between runs is keyed by where it started (a pseudonymised
patient or the blank template) and, for results computed from the inputs, by a fingerprint
of those inputs, so nothing computed for one patient, template or set of inputs is ever
shown for another: a saved scenario belongs to its starting point, and a counterfactual
search result is shown only while the inputs and target it was computed for are current.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_COMPARED = 4


def fingerprint(values: Mapping[str, Any]) -> str:
    """SHA-256 of the inputs (sorted canonical JSON): equal inputs, equal fingerprint."""
    text = json.dumps(dict(values), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def search_key(loaded: str, values: Mapping[str, Any], goal: str, threshold: float) -> str:
    """What a counterfactual result was computed for: start, inputs and target."""
    return f"{loaded}|{fingerprint(values)}|{goal}|{threshold:g}"


@dataclass
class ScenarioBook:
    """Saved scenarios, per starting point (``loaded``), in the order they were saved."""

    by_start: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def scenarios(self, loaded: str) -> dict[str, dict[str, Any]]:
        """The scenarios saved from ``loaded`` (never another patient's or template's)."""
        return dict(self.by_start.get(loaded, {}))

    def save(self, loaded: str, title: str, values: Mapping[str, Any]) -> str:
        """Keep ``values`` under ``title`` (or "scenario N"); returns the title used."""
        saved = self.by_start.setdefault(loaded, {})
        name = title.strip() or f"scenario {len(saved) + 1}"
        saved.pop(name, None)  # saved again: it moves to the end, as the newest
        saved[name] = dict(values)
        return name

    def newest(self, loaded: str, n: int = MAX_COMPARED) -> list[str]:
        """The ``n`` most recently saved titles of ``loaded`` (what to compare by default)."""
        return list(self.by_start.get(loaded, {}))[-n:]


@dataclass(frozen=True)
class StoredResult:
    """A computed result and the key of what it was computed for."""

    key: str
    value: Any

    def for_key(self, key: str) -> Any | None:
        """The value while ``key`` is still current, else None (stale: not shown)."""
        return self.value if self.key == key else None
