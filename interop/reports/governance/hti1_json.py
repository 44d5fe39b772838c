"""The 31 ONC HTI-1 predictive-DSI source attributes as JSON (what an EHR's DSI source
attribute table, e.g. OpenEMR's ``dsi_source_attributes``, is filled from)."""

from __future__ import annotations

import json
from typing import Any

STANDARD = ("ONC HTI-1, 45 CFR 170.315(b)(11)(iv): source attributes of a predictive decision "
            "support intervention (titles as in OpenEMR list dsi_predictive_source_attributes)")


def hti1_document(facts: dict[str, Any]) -> dict[str, Any]:
    """The attributes with the version they describe and the subgroup rows behind 22/29."""
    local = facts["local"]
    return {"standard": STANDARD, "notice": facts["notice"], "version": facts["version"],
            "created_utc": facts["created_utc"], "attributes": facts["hti1"],
            "subgroups": {"held_out": facts["fairness"].get("lines", []),
                          "local": local.get("fairness_lines", [])}}


def hti1_json(facts: dict[str, Any]) -> str:
    """``hti1_document`` as indented JSON text."""
    return json.dumps(hti1_document(facts), indent=2, ensure_ascii=False) + "\n"
