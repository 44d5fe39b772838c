"""Governance exports of a version's facts (issue 28): HTI-1 JSON, CHAI Applied Model Card
XML (validated, signed), TRIPOD+AI Markdown and a PDF governance card. They only place the
text ``training.governance.facts`` wrote, so every export carries the same numbers.
"""

__all__ = [
    "card_pdf",
    "chai_schema",
    "chai_xml",
    "hti1_json",
    "sections",
    "tripod_md",
    "xmldsig",
]
